"""Label-efficiency benchmark on the synthetic set.

Trains, with one model and one schedule, supervised-only at 1/16 of the
labels, every registered semi-supervised method at 1/16, and supervised at
full labels; prints a markdown table (test mIoU, gap closed, val mIoU) and
optionally writes it and a plot into docs/. Each run validates on the val
split (choose hyperparameters there) and its final checkpoint is tested on
the test split (the table reports it; --split val shows val instead).

  python tools/label_efficiency.py --preset demo          # make demo
  python tools/label_efficiency.py --preset full --write-docs
  python tools/label_efficiency.py --preset full --style shapes --write-docs
  python tools/label_efficiency.py --methods sup_1-16 sup_full --seeds 0 1
  # a variant of one row, kept apart from the recorded runs:
  python tools/label_efficiency.py --preset full --methods fixmatch \
      --cfg-options model.pseudo_label_filter.threshold=0.3 \
      --work-dir work_dirs/probes/fixmatch_t03
"""
import argparse
import os.path as osp
import re
import sys
import time

# semiseg_mm (and with it torch) is imported once the arguments are parsed;
# preset and row names are checked then.
HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(HERE)
DOC = osp.join(REPO, 'docs', 'benchmarks.md')
FIG = osp.join(REPO, 'docs', 'figures', 'label_efficiency.png')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--preset', default='demo',
                   help='demo (make demo) or full (the recorded benchmark)')
    p.add_argument('--methods', nargs='+', default=None,
                   help='rows to run (default: every default row; a typo '
                   'lists the known ones)')
    p.add_argument('--seeds', type=int, nargs='+', default=None)
    p.add_argument('--max-iters', type=int, default=None,
                   help="override the preset's schedule length")
    p.add_argument('--style', default='textured',
                   help='the synthetic set\'s style: textured (the default '
                   'set, data/synthetic) or shapes (shape-only classes, '
                   'data/synthetic_shapes); each has its own runs and table')
    p.add_argument('--split', default='test', choices=('test', 'val'),
                   help='which split the table reports (default test; val '
                   'is where hyperparameters are chosen)')
    p.add_argument('--data-root', default=None,
                   help="default: data/<the style's folder>")
    p.add_argument('--work-dir', default=None,
                   help='default: work_dirs/label_efficiency/<preset> '
                   '(textured) or <preset>-<style>')
    p.add_argument('--jobs', type=int, default=2,
                   help='trainings in parallel (one thread each)')
    p.add_argument('--cfg-options', nargs='+', metavar='KEY=VALUE',
                   help='key=value overrides merged into every selected '
                   "row's config (as tools/train.py's); use --methods and "
                   '--work-dir to keep such variants apart')
    p.add_argument('--report-only', action='store_true',
                   help='train nothing: tabulate the runs already finished '
                   'with the current configs (rows may have fewer seeds)')
    p.add_argument('--write-docs', action='store_true',
                   help='write the table into docs/benchmarks.md and the '
                   'plot into docs/figures/')
    p.add_argument('--block', default=None,
                   help='with --write-docs: the docs/benchmarks.md block '
                   '(<!-- NAME:start/end -->) and figure (docs/figures/'
                   'NAME.png, "-" as "_") to write, for a table of some '
                   'rows kept apart from the main one; default '
                   'label-efficiency-<preset>[-<style>] and its figure')
    args = p.parse_args(argv)
    if args.block is not None and not re.fullmatch(r'[a-z0-9][a-z0-9-]*',
                                                   args.block):
        p.error(f'--block {args.block!r}: lower-case letters, digits and '
                '"-" only (it names a docs marker and a figure file)')
    bad = [o for o in args.cfg_options or [] if '=' not in o]
    if bad:
        p.error(f'--cfg-options takes KEY=VALUE pairs, got {bad}')
    if args.cfg_options and args.write_docs:
        p.error('--write-docs records the configs as committed; run '
                '--cfg-options variants without it (and with --work-dir)')
    return args


def main(argv=None):
    args = parse_args(argv)
    import semiseg_mm  # noqa: F401
    from semiseg_mm.benchmark import label_efficiency as le
    from semiseg_mm.utils.config import config_root
    from semiseg_mm.utils.launch import parse_cfg_options
    args.cfg_options = parse_cfg_options(args.cfg_options)
    if args.preset not in le.PRESETS:
        sys.exit(f'unknown --preset {args.preset!r}; known: '
                 f'{sorted(le.PRESETS)}')
    from semiseg_mm.datasets.synthetic import SEG_STYLES, image_size
    if args.style not in SEG_STYLES:
        sys.exit(f'unknown --style {args.style!r}; known: {sorted(SEG_STYLES)}')
    style = SEG_STYLES[args.style]
    data_root = args.data_root or osp.join('data', style.folder)
    # the textured style keeps the folders and docs blocks it always had
    suffix = '' if args.style == 'textured' else f'-{args.style}'
    preset = le.PRESETS[args.preset]
    seeds = args.seeds or list(preset.seeds)
    max_iters = args.max_iters or preset.max_iters
    keys = args.methods or le.default_keys()
    unknown = [k for k in keys if k not in le.ENTRIES]
    if unknown:
        named_only = [k for k in le.ENTRIES if k not in le.default_keys()]
        sys.exit(f'unknown entries {unknown}; default rows: '
                 f'{le.default_keys()}, run when named: {named_only}')
    if not osp.isdir(osp.join(data_root, 'img_dir', 'test')):
        sys.exit(f'no synthetic data with a test split in {data_root!r}: '
                 'run `python tools/make_synthetic.py --out data` first')
    entries = [le.ENTRIES[k] for k in keys]
    # the configs pad to 64 px; a set of another image size pads to its own
    size = image_size(data_root)
    input_size = None if size is None else (size, size)
    work = args.work_dir or osp.join('work_dirs', 'label_efficiency',
                                     args.preset + suffix)
    t0 = time.time()
    if args.report_only:
        results, missing = [], []
        for e in entries:
            for s in seeds:
                r = le.finished_run(e, s, config_root(), max_iters, work,
                                    args.cfg_options, input_size)
                if r is None:
                    missing.append(f'{e.key} seed {s}')
                else:
                    results.append(r)
        if missing:
            print(f'not finished (left out): {", ".join(missing)}')
        if not results:
            sys.exit(f'no finished runs in {work}')
    else:
        results = le.run_benchmark(entries, seeds, config_root(),
                                   osp.join(HERE, 'train.py'), work,
                                   data_root, max_iters, args.jobs,
                                   cfg_options=args.cfg_options,
                                   input_size=input_size)
    rows = le.summarise(entries, results, args.split)
    table = le.markdown_table(rows, args.split)
    iters = max_iters or 'config'
    command = ('python tools/label_efficiency.py ' +
               ' '.join(argv if argv is not None else sys.argv[1:]))
    header = (f'Synthetic set, {args.style} style ({style.description}), '
              f'{args.split} split; DilatedConvNet, {iters} iterations, '
              f'seeds {seeds}; `{command.strip()}`')
    header += ('; runs trained earlier by the same command without '
               '`--report-only` (min/run: their training time).'
               if args.report_only else
               f'; total {(time.time() - t0) / 60:.1f} min on this machine.')
    print('\n' + header + '\n\n' + table + '\n')
    full_iters = le.config_iters(entries[0], config_root())
    if max_iters and max_iters < full_iters:
        print(f'A shortened schedule ({max_iters} of {full_iters} '
              'iterations): not the recorded benchmark, whose '
              f'{full_iters}-iteration, 3-seed results are in '
              'docs/benchmarks.md (`python tools/label_efficiency.py '
              '--preset full`).\n')
    if args.write_docs:
        if args.block is None:
            block_name = f'label-efficiency-{args.preset}{suffix}'
            fig = FIG.replace('.png', suffix.replace('-', '_') + '.png')
        else:
            block_name = args.block
            fig = osp.join(osp.dirname(FIG),
                           args.block.replace('-', '_') + '.png')
        le.plot(rows, fig, f'Label efficiency, synthetic {args.style} '
                f'({args.split}, {len(seeds)} seed(s))', args.split)
        with open(DOC) as f:
            text = f.read()
        block = (header + '\n\n' + table + '\n\n'
                 f'![label efficiency](figures/{osp.basename(fig)})')
        with open(DOC, 'w') as f:
            f.write(le.replace_block(text, block_name, block))
        print(f'wrote {DOC} and {fig}')


if __name__ == '__main__':
    main()
