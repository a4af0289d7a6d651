"""Domain-adaptation benchmark on the synthetic domain pair.

Trains, with one model and one schedule, source-only (lower bound), every
adaptation method and target-supervised (upper bound) on
data/synthetic_uda (`python tools/make_synthetic.py --only uda`), evaluates
the AdvEnt + MinEnt test-time ensemble from the trained AdvEnt and MinEnt
runs of each seed, and prints a markdown table (target test mIoU, gap
closed paired by seed, target val mIoU); hyperparameters are chosen on
target val, the table reports target test.

  python tools/domain_adaptation.py --preset full --jobs 2 --write-docs
  python tools/domain_adaptation.py --preset demo            # short version
  python tools/domain_adaptation.py --methods source_only target_supervised
"""
import argparse
import os.path as osp
import sys
import time

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(HERE)
DOC = osp.join(REPO, 'docs', 'benchmarks.md')
FIG = osp.join(REPO, 'docs', 'figures', 'domain_adaptation.png')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--preset', default='full', help='demo or full')
    p.add_argument('--methods', nargs='+', default=None,
                   help='rows (default: every default row, the ensemble '
                   'included)')
    p.add_argument('--seeds', type=int, nargs='+', default=None)
    p.add_argument('--max-iters', type=int, default=None)
    p.add_argument('--split', default='test', choices=('test', 'val'))
    p.add_argument('--data-root', default='data/synthetic_uda')
    p.add_argument('--work-dir', default=None,
                   help='default: work_dirs/domain_adaptation/<preset>')
    p.add_argument('--jobs', type=int, default=2)
    p.add_argument('--cfg-options', nargs='+', metavar='KEY=VALUE',
                   help="overrides merged into every selected row's config")
    p.add_argument('--write-docs', action='store_true')
    args = p.parse_args(argv)
    if args.cfg_options and args.write_docs:
        p.error('--write-docs records the configs as committed')
    return args


def main(argv=None):
    args = parse_args(argv)
    import semiseg_mm  # noqa: F401
    from semiseg_mm.benchmark import domain_adaptation as da
    from semiseg_mm.benchmark import label_efficiency as le
    from semiseg_mm.utils.config import config_root
    from semiseg_mm.utils.launch import parse_cfg_options
    opts = parse_cfg_options(args.cfg_options)
    if args.preset not in da.PRESETS:
        sys.exit(f'unknown --preset {args.preset!r}; known: '
                 f'{sorted(da.PRESETS)}')
    preset = da.PRESETS[args.preset]
    seeds = args.seeds or list(preset.seeds)
    max_iters = args.max_iters or preset.max_iters
    known = list(da.ENTRIES) + list(da.ENSEMBLES)
    keys = args.methods or (da.default_keys() + [
        k for k, e in da.ENSEMBLES.items() if e.default])
    unknown = [k for k in keys if k not in known]
    if unknown:
        sys.exit(f'unknown rows {unknown}; known: {known}')
    if not osp.isdir(osp.join(args.data_root, 'target', 'img_dir', 'test')):
        sys.exit(f'no domain pair with a target test split in '
                 f'{args.data_root!r}: run `python tools/make_synthetic.py '
                 '--out data --only uda` first')
    ensembles = [da.ENSEMBLES[k] for k in keys if k in da.ENSEMBLES]
    train_keys = [k for k in keys if k in da.ENTRIES]
    for ens in ensembles:  # an ensemble needs its members trained
        train_keys += [m for m in ens.members if m not in train_keys]
    entries = [da.ENTRIES[k] for k in train_keys]
    work = args.work_dir or osp.join('work_dirs', 'domain_adaptation',
                                     args.preset)
    t0 = time.time()
    results = le.run_benchmark(
        entries, seeds, config_root(), osp.join(HERE, 'train.py'), work,
        args.data_root, max_iters, args.jobs, cfg_options=opts,
        data_link=da.DATA_LINK, desc='domain-adaptation runs')
    for ens in ensembles:
        for s in seeds:
            r = da.run_ensemble(ens, s, config_root(),
                                osp.join(HERE, 'test.py'), work,
                                args.data_root, results)
            print(f'  {ens.name} (seed {s}): test mIoU {r.test_miou:.2f}, '
                  f'val {r.miou:.2f}')
            results.append(r)
    order = [da.ENTRIES.get(k) or da.ENSEMBLES[k] for k in keys
             if k in known]
    # bounds first, methods, the upper bound last
    order = sorted(order, key=lambda e: {'sup_low': 0, 'method': 1,
                                         'sup_full': 2}[e.role])
    rows = le.summarise(order, results, args.split)
    table = le.markdown_table(rows, args.split)
    gaps = da.gap_rows(rows)
    beats = da.beats_source(rows)
    iters = max_iters or 'config'
    command = ('python tools/domain_adaptation.py ' +
               ' '.join(argv if argv is not None else sys.argv[1:]))
    header = (f'Synthetic domain pair (source with pixel noise 6 -> '
              f'target with noise 14, blur and a hue shift), target '
              f'{args.split} split; '
              f'DilatedConvNet (+ auxiliary head), {iters} iterations, '
              f'seeds {seeds}; `{command.strip()}`; total '
              f'{(time.time() - t0) / 60:.1f} min on this machine.')
    lines = [f'- {r.entry.name}: gap closed (paired by seed) '
             f'{gaps.get(r.entry.key, float("nan")):.0f} %, beats source '
             f'only on every seed: {beats[r.entry.key]}'
             for r in rows if r.entry.key in beats]
    text = header + '\n\n' + table + '\n\n' + '\n'.join(lines)
    print('\n' + text + '\n')
    if args.write_docs:
        le.plot(rows, FIG, f'Domain adaptation, synthetic pair ({args.split}, '
                f'{len(seeds)} seed(s))', args.split)
        with open(DOC) as f:
            doc = f.read()
        block = text + f'\n\n![domain adaptation](figures/{osp.basename(FIG)})'
        with open(DOC, 'w') as f:
            f.write(le.replace_block(doc, f'domain-adaptation-{args.preset}',
                                     block))
        print(f'wrote {DOC} and {FIG}')


if __name__ == '__main__':
    main()
