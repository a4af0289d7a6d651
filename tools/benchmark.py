"""Speed and memory of training iterations (see semiseg_mm/benchmark/speed.py).

Each config runs in its own process (so peak memory is its own); the table
gives the iteration time, the time of the same networks' bare passes on the
same batch (overhead = iteration / passes), the EMA update's share, and
time/peak memory relative to the supervised baseline (peak memory counts
tensors; on CPU the process's resident-set growth is given beside it).

  python tools/benchmark.py configs/mean_teacher/dilatedconvnet_synthetic_1-16.py \
      configs/fixmatch/dilatedconvnet_synthetic_1-16.py \
      --baseline configs/supervised/dilatedconvnet_synthetic_1-16.py \
      --threads 1 --iters 30 [--write-docs]

A method whose work depends on what its teacher predicts (Soft Teacher's
pseudo-boxes) is measured from trained weights with
``--cfg-options load_from=<checkpoint>`` (the measured configs only).
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
from typing import Optional

from tqdm import tqdm

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(HERE)
DOC = osp.join(REPO, 'docs', 'benchmarks.md')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('configs', nargs='+')
    p.add_argument('--baseline', default=None,
                   help='supervised config the others are compared with')
    p.add_argument('--iters', type=int, default=20)
    p.add_argument('--warmup', type=int, default=5)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--write-docs', action='store_true')
    p.add_argument('--block', default='speed',
                   help='the docs/benchmarks.md block --write-docs replaces '
                   '(speed: the semi-supervised methods, speed-uda: the '
                   'domain-adaptation ones)')
    p.add_argument('--stages', action='store_true',
                   help='measure a method trained in stages once per stage '
                   '(at the middle iteration of each), a row each')
    p.add_argument('--cfg-options', nargs='+', metavar='KEY=VALUE',
                   default=None,
                   help='overrides merged into every measured config (not '
                   'the baseline), as tools/train.py\'s')
    p.add_argument('--at-iter', type=int, default=None,
                   help=argparse.SUPPRESS)
    p.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    p.add_argument('--out', default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def run_child(args) -> None:
    import torch
    torch.set_num_threads(args.threads)
    import semiseg_mm  # noqa: F401
    from semiseg_mm.benchmark.speed import measure
    from semiseg_mm.utils.launch import parse_cfg_options
    result = measure(args.configs[0], args.iters, args.warmup,
                     cfg_options=parse_cfg_options(args.cfg_options)
                     if args.cfg_options else None,
                     at_iter=args.at_iter)
    with open(args.out, 'w') as f:
        json.dump(result, f)


def stage_iterations(config: str) -> list:
    """``[None]``, or the middle iteration of each training stage of a
    staged method's config (``model.semi_train_cfg.stages``)."""
    from mmengine.config import Config
    stages = Config.fromfile(config).model.get('semi_train_cfg',
                                               {}).get('stages')
    if not stages:
        return [None]
    return [(s['begin'] + s['end']) // 2 for s in stages]


def measure_in_subprocess(config: str, args,
                          at_iter: Optional[int] = None,
                          options: Optional[list] = None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = osp.join(tmp, 'result.json')
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
        cmd = [
            sys.executable, __file__, config, '--child', '--out', out,
            '--iters', str(args.iters), '--warmup', str(args.warmup),
            '--threads', str(args.threads)
        ] + ([] if at_iter is None else ['--at-iter', str(at_iter)]) + (
            ['--cfg-options', *options] if options else [])
        r = subprocess.run(cmd, env=env, capture_output=True, text=True,
                           cwd=os.getcwd())
        if r.returncode != 0:
            raise SystemExit(f'benchmark of {config} failed:\n'
                             f'{r.stderr[-3000:]}')
        with open(out) as f:
            return json.load(f)


def fmt(v, spec='.3f', suffix=''):
    return '-' if v is None else f'{v:{spec}}{suffix}'


def table(results, baseline) -> str:
    lines = [
        '| config | model | s/iter | bare passes s | overhead | EMA share '
        '| checks share | health share | x sup time | peak MiB | '
        'x sup memory | RSS MiB |',
        '|---|---|---|---|---|---|---|---|---|---|---|---|'
    ]
    for r in results:
        rel_t = r['iter_s'] / baseline['iter_s'] if baseline else None
        rel_m = (r['peak_mib'] / baseline['peak_mib']
                 if baseline and baseline['peak_mib'] > 0 else None)
        share = None if r['ema_share'] is None else 100 * r['ema_share']
        checks, health = (None if r.get(k) is None else 100 * r[k]
                          for k in ('checks_share', 'health_share'))
        lines.append(
            f"| `{osp.relpath(r['config'], REPO)}`" +
            (f" ({r['stage']})" if r.get('stage') else '') +
            f" | {r['model']} | "
            f"{r['iter_s']:.3f} | {fmt(r['reference_s'])} | "
            f"{fmt(r['overhead'], '.2f', 'x')} | {fmt(share, '.2f', ' %')} | "
            f"{fmt(checks, '.2f', ' %')} | {fmt(health, '.2f', ' %')} | "
            f"{fmt(rel_t, '.2f', 'x')} | {r['peak_mib']:.0f} | "
            f"{fmt(rel_m, '.2f', 'x')} | "
            f"{fmt(r.get('rss_peak_mib'), '.0f')} |")
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        run_child(args)
        return
    configs = ([args.baseline] if args.baseline else []) + args.configs
    results = []
    for i, cfg in enumerate(tqdm(configs, desc='benchmark', unit='config')):
        cfg = osp.abspath(cfg)
        points = stage_iterations(cfg) if args.stages else [None]
        baseline_run = args.baseline is not None and i == 0
        for at in points:
            results.append(measure_in_subprocess(
                cfg, args, at, None if baseline_run else args.cfg_options))
    baseline = results[0] if args.baseline else None
    import torch
    header = (f'{results[0]["device"]}, {args.threads} thread(s), median of '
              f'{args.iters} iterations after {args.warmup} warm-up; torch '
              f'{torch.__version__}; `python tools/benchmark.py ' +
              ' '.join(argv if argv is not None else sys.argv[1:]) + '`')
    text = header + '\n\n' + table(results, baseline)
    print('\n' + text + '\n')
    if args.write_docs:
        from semiseg_mm.benchmark.label_efficiency import replace_block
        with open(DOC) as f:
            doc = f.read()
        with open(DOC, 'w') as f:
            f.write(replace_block(doc, args.block, text))
        print(f'wrote {DOC}')


if __name__ == '__main__':
    main()
