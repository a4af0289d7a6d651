"""Semi-supervised detection benchmark on the synthetic detection set:
supervised-only vs Soft Teacher (fixed batch composition) vs the scheduled
labelled share, at 5 % labels, one run per seed (seed k: fold k + 1).

  python tools/make_synthetic.py --out data --only det
  python tools/det_benchmark.py --seeds 0 1 2 --jobs 2
  python tools/det_benchmark.py --seeds 0 1 2 --report-only --write-docs

Runs live in work_dirs/det_benchmark/<row>_seed<k>/ and are reused while
their config is unchanged; the table reports the test split's COCO box AP.
"""
import argparse
import os.path as osp
import sys
import time

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(HERE)
DOC = osp.join(REPO, 'docs', 'benchmarks.md')
FIG = osp.join(REPO, 'docs', 'figures', 'det_benchmark.png')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--methods', nargs='+', help='rows (default: all three)')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--max-iters', type=int,
                   help="override the configs' schedule length")
    p.add_argument('--data-root', default=osp.join('data', 'synthetic_det'))
    p.add_argument('--work-dir',
                   default=osp.join('work_dirs', 'det_benchmark'))
    p.add_argument('--jobs', type=int, default=2)
    p.add_argument('--cfg-options', nargs='+', metavar='KEY=VALUE',
                   help="key=value overrides merged into every selected "
                   "row's config; use --methods and --work-dir to keep such "
                   'variants apart')
    p.add_argument('--report-only', action='store_true',
                   help='train nothing: tabulate the finished runs')
    p.add_argument('--write-docs', action='store_true',
                   help='write the table into docs/benchmarks.md and the '
                   'plot into docs/figures/')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.cfg_options and args.write_docs:
        sys.exit('--write-docs records the configs as committed; run '
                 '--cfg-options variants without it (and with --work-dir)')
    import semiseg_mm  # noqa: F401
    from semiseg_mm.benchmark import detection as det
    from semiseg_mm.benchmark import label_efficiency as le
    from semiseg_mm.utils.config import config_root
    from semiseg_mm.utils.launch import parse_cfg_options
    options = parse_cfg_options(args.cfg_options)
    keys = args.methods or list(det.DET_KEYS)
    unknown = [k for k in keys if k not in det.DET_KEYS]
    if unknown:
        sys.exit(f'unknown rows {unknown}; known: {list(det.DET_KEYS)}')
    if not osp.isfile(osp.join(args.data_root, 'annotations',
                               'instances_test.json')):
        sys.exit(f'no synthetic detection set with a test split in '
                 f'{args.data_root!r}: run `python tools/make_synthetic.py '
                 '--out data --only det` first')
    entries = det.det_entries(keys)
    t0 = time.time()
    if args.report_only:
        results, missing = [], []
        for e in entries:
            for s in args.seeds:
                r = le.finished_run(e, s, config_root(), args.max_iters,
                                    args.work_dir, options)
                (missing.append(f'{e.key} seed {s}') if r is None else
                 results.append(r))
        if missing:
            print(f'not finished (left out): {", ".join(missing)}')
        if not results:
            sys.exit(f'no finished runs in {args.work_dir}')
    else:
        results = le.run_benchmark(
            entries, args.seeds, config_root(), osp.join(HERE, 'train.py'),
            args.work_dir, args.data_root, args.max_iters, args.jobs,
            cfg_options=options, data_link='synthetic_det',
            desc='detection runs')
    rows = le.summarise(entries, results, 'test')
    table = det.markdown_table(rows)
    command = ('python tools/det_benchmark.py ' +
               ' '.join(argv if argv is not None else sys.argv[1:]))
    header = (f'Synthetic detection set, {det.PERCENT} % labelled, test '
              f'split (COCO box AP x 100); tiny Faster R-CNN, '
              f'{args.max_iters or "config"} iterations, seeds '
              f'{args.seeds}; `{command.strip()}`')
    header += ('; runs trained earlier by the same command without '
               '`--report-only` (min/run: their training time).'
               if args.report_only else
               f'; total {(time.time() - t0) / 60:.1f} min on this machine.')
    print('\n' + header + '\n\n' + table + '\n')
    if args.write_docs:
        for r in rows:  # the plot shows box AP x 100
            r.mious = [100 * v for v in r.mious]
        le.plot(rows, FIG, f'Semi-supervised detection, synthetic, '
                f'{det.PERCENT} % labelled ({len(args.seeds)} seed(s))',
                ylabel='box AP x 100 (synthetic test)')
        with open(DOC) as f:
            text = f.read()
        block = (header + '\n\n' + table +
                 f'\n\n![detection](figures/{osp.basename(FIG)})')
        with open(DOC, 'w') as f:
            f.write(le.replace_block(text, 'det-benchmark', block))
        print(f'wrote {DOC} and {FIG}')


if __name__ == '__main__':
    main()
