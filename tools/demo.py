"""`make demo`: train three label-efficiency rows in minutes and show them.

  python tools/demo.py [--work-dir work_dirs/demo] [--data-root DIR]
                       [--max-iters N] [--seed S]

Trains, on one seed, supervised with 1/16 of the synthetic labels,
supervised with all of them and FixMatch at 1/16 (8 + 8 images per batch),
two at a time, with the benchmark's configs for 2000 iterations on the 32 px
demo set (data/synthetic_demo, `make_synthetic.py --only demo`); prints their test mIoU and gap closed, the
other methods' recorded full-benchmark figures (read from docs/benchmarks.md,
marked as recorded), and whether the ranking all labels > FixMatch > 1/16
holds; then writes a picture of FixMatch's pseudo-labels, accepted pixels
and predictions next to the supervised model's on validation images, and the
plot. The domain-adaptation benchmark's recorded rows follow (synthetic
domain pair, 3 seeds); ``--uda`` trains instead source-only,
AdvEnt and target-supervised on the synthetic domain pair (data/synthetic_uda,
1000 iterations), with the gap closed; ``--det`` trains supervised-only and
Soft Teacher on the synthetic detection set (data/synthetic_det, 5 % labels,
1000 iterations) and prints their box AP.
"""
import argparse
import os
import os.path as osp
import sys
import time

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(HERE)
DOC = osp.join(REPO, 'docs', 'benchmarks.md')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--work-dir', default=osp.join('work_dirs', 'demo'))
    p.add_argument('--data-root', default=None,
                   help='default: data/synthetic_demo (make_synthetic.py '
                   '--only demo)')
    p.add_argument('--max-iters', type=int, default=None,
                   help='default: the demo preset\'s schedule')
    p.add_argument('--seed', type=int, default=None)
    p.add_argument('--jobs', type=int, default=2)
    p.add_argument('--uda-root', default=osp.join('data', 'synthetic_uda'),
                   help='the domain pair (make_synthetic.py --only uda)')
    p.add_argument('--uda-max-iters', type=int, default=None,
                   help="default: the domain-adaptation demo preset's")
    p.add_argument('--uda', action='store_true',
                   help='also train the domain-adaptation rows (source-only, '
                   'AdvEnt, target-supervised on the synthetic pair, 1000 '
                   'iterations; about 4 more minutes, docs/benchmarks.md '
                   '"make demo")')
    p.add_argument('--det-root', default=osp.join('data', 'synthetic_det'),
                   help='the detection set with its splits (make_synthetic.py'
                   ' --only det)')
    p.add_argument('--det-max-iters', type=int, default=None,
                   help="default: the detection demo preset's")
    p.add_argument('--det', action='store_true',
                   help='also train the detection rows (supervised-only and '
                   'Soft Teacher at 5 %% labels on the synthetic detection '
                   'set, 1000 iterations; about 8 more minutes, '
                   'docs/benchmarks.md "make demo")')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    t0 = time.time()
    import semiseg_mm  # noqa: F401
    from semiseg_mm.benchmark import demo
    from semiseg_mm.benchmark import label_efficiency as le
    from semiseg_mm.datasets.synthetic import SEG_STYLES, image_size
    from semiseg_mm.utils.config import config_root
    preset = demo.DEMO
    data_root = args.data_root or osp.join('data',
                                           SEG_STYLES[preset.style].folder)
    size = image_size(data_root)
    if size is None or not osp.isdir(osp.join(data_root, 'img_dir', 'test')):
        sys.exit(f'no synthetic data in {data_root!r}: run `python '
                 'tools/make_synthetic.py --out data --only demo` first')
    seed = preset.seed if args.seed is None else args.seed
    max_iters = args.max_iters or preset.max_iters
    entries = [le.ENTRIES[k] for k in preset.rows]
    iters = max_iters or le.config_iters(entries[0], config_root())
    results = le.run_benchmark(entries, [seed], config_root(),
                               osp.join(HERE, 'train.py'), args.work_dir,
                               data_root, max_iters, args.jobs,
                               input_size=(size, size))
    rows = le.summarise(entries, results)
    method = le.ENTRIES[preset.method]
    short = method.name.split(',')[0]
    print(f'\nTrained now: synthetic set {data_root} ({size} px), seed '
          f'{seed}, {iters} iterations per row, test split\n')
    print(le.markdown_table(rows))
    holds = demo.ranking_holds(rows)
    verdict = {True: 'holds', False: 'does NOT hold on this run',
               None: 'cannot be checked'}[holds]
    print(f'\nRanking all labels > {short} > 1/16 of the labels: {verdict}.')
    recorded = demo.recorded_rows(DOC, skip=[e.config for e in entries])
    if recorded:
        print('\nRecorded in docs/benchmarks.md (not trained now: the 64 px '
              'benchmark set, 3 seeds, each config\'s schedule):\n')
        print(demo.recorded_table(recorded))
    for marker, what, metric in demo.RECORDED_BLOCKS:
        extra = demo.recorded_rows(DOC, marker=marker)
        if extra:
            print(f'\nRecorded in docs/benchmarks.md: {what}:\n')
            print(demo.recorded_table(extra, metric))
    uda_recorded = demo.recorded_rows(DOC, marker='domain-adaptation-full')
    if uda_recorded and not args.uda:
        print('\nDomain adaptation, recorded in docs/benchmarks.md (the '
              'synthetic domain pair, target test split, 3 seeds; '
              '`--uda` trains three of its rows now):\n')
        print(demo.recorded_table(uda_recorded))
    picture = demo.demo_picture(
        osp.join(args.work_dir, f'sup_1-16_seed{seed}'),
        osp.join(args.work_dir, f'{method.key}_seed{seed}'),
        osp.join(args.work_dir, 'demo_predictions.png'),
        label=method.key)
    plot = osp.join(args.work_dir, 'label_efficiency_demo.png')
    le.plot(rows, plot, f'make demo: {size} px set, {iters} iterations, '
            f'seed {seed}')
    print(f'\nPicture (a row per validation image: image, mask, supervised '
          f'1/16 prediction, {short} teacher pseudo-labels and confidence, '
          f'accepted pixels, {short} prediction): {os.path.abspath(picture)}')
    print(f'Plot: {os.path.abspath(plot)}')
    if args.uda:
        uda_demo(args, seed)
    if args.det:
        det_demo(args, seed)
    print(f'make demo took {(time.time() - t0) / 60:.1f} min')
    return 0


def uda_demo(args, seed: int) -> None:
    """The domain-adaptation part: source-only, one adaptation method and
    target-supervised on the synthetic domain pair, short schedule."""
    from semiseg_mm.benchmark import demo
    from semiseg_mm.benchmark import domain_adaptation as da
    from semiseg_mm.benchmark import label_efficiency as le
    from semiseg_mm.utils.config import config_root
    preset = demo.UDA_DEMO
    root = args.uda_root
    if not osp.isdir(osp.join(root, 'target', 'img_dir', 'test')):
        sys.exit(f'no domain pair in {root!r}: run `python '
                 'tools/make_synthetic.py --out data --only uda` first')
    max_iters = args.uda_max_iters or preset.max_iters
    entries = [da.ENTRIES[k] for k in preset.rows]
    results = le.run_benchmark(entries, [seed], config_root(),
                               osp.join(HERE, 'train.py'),
                               osp.join(args.work_dir, 'uda'), root,
                               max_iters, args.jobs, data_link=da.DATA_LINK,
                               desc='domain-adaptation runs')
    rows = le.summarise(entries, results)
    method = da.ENTRIES[preset.method]
    print(f'\nTrained now: synthetic domain pair {root}, seed {seed}, '
          f'{max_iters} iterations per row, target test split\n')
    print(le.markdown_table(rows))
    gap = da.gap_rows(rows).get(method.key)
    holds = demo.ranking_holds(rows)
    verdict = {True: 'holds', False: 'does NOT hold on this run',
               None: 'cannot be checked'}[holds]
    gap_text = '' if gap is None else f' ({gap:.0f} % of the gap closed)'
    print(f'\nRanking target-supervised > {method.name}{gap_text} > '
          f'source-only: {verdict}. The 3-seed benchmark of every adaptation '
          'method: docs/benchmarks.md, "Domain adaptation".')


def det_demo(args, seed: int) -> None:
    """The detection part: supervised-only and Soft Teacher on the
    synthetic detection set at 5 % labels, short schedule."""
    from semiseg_mm.benchmark import demo
    from semiseg_mm.benchmark import detection as det
    from semiseg_mm.benchmark import label_efficiency as le
    from semiseg_mm.utils.config import config_root
    preset = demo.DET_DEMO
    root = args.det_root
    if not osp.isfile(osp.join(root, 'annotations', 'instances_test.json')):
        sys.exit(f'no synthetic detection set in {root!r}: run `python '
                 'tools/make_synthetic.py --out data --only det` first')
    max_iters = args.det_max_iters or preset.max_iters
    entries = det.det_entries(preset.rows)
    results = le.run_benchmark(entries, [seed], config_root(),
                               osp.join(HERE, 'train.py'),
                               osp.join(args.work_dir, 'det'), root,
                               max_iters, args.jobs,
                               data_link='synthetic_det',
                               desc='detection runs')
    rows = le.summarise(entries, results, 'test')
    method = le.ENTRIES[preset.method]
    print(f'\nTrained now: synthetic detection set {root}, '
          f'{det.PERCENT} % labelled (fold {seed + 1}), seed {seed}, '
          f'{max_iters} iterations per row, test split (COCO box AP x 100)'
          '\n')
    print(det.markdown_table(rows))
    verdict = {True: 'holds', False: 'does NOT hold on this run',
               None: 'cannot be checked'}[demo.beats_supervised(rows)]
    print(f'\n{method.name.split(",")[0]} > supervised-only: {verdict}. '
          'The 3-seed benchmark with the scheduled share: docs/benchmarks.md'
          ', "Semi-supervised detection".')


if __name__ == '__main__':
    sys.exit(main())
