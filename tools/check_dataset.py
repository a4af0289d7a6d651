"""Check every file of a config's datasets before a long run.

  python tools/check_dataset.py CONFIG [--splits train val test] [--quick]
                                [--cfg-options k=v ...] [--workers N]

Builds the train/val/test datasets of CONFIG (without their quick file check,
so that nothing stops at the first bad file) and, for every image and mask:
reads the header and end of the file (unreadable, empty or truncated PNG/JPEG
files), decodes it, and checks that each mask is single-channel, as large as
its image and holds only values in [0, num_classes) or the ignore index, as
the loss sees them (after reduce_zero_label / label_map). Every problem is
listed, grouped by kind; the exit status is 1 if there is any.

Training runs a cheaper part of this itself: the quick file check when a
dataset is built, the validation masks' values before the first iteration,
the training masks' values when they are loaded (docs/get_started.md,
"Bad input"). A dataset's ``verify=True`` runs this full scan when it is
built.
"""
import argparse
import os
import sys

SPLITS = ('train', 'val', 'test')


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('\n', 1)[1])
    p.add_argument('config')
    p.add_argument('--splits', nargs='+', choices=SPLITS, default=SPLITS,
                   help='which dataloaders to check (default: all)')
    p.add_argument('--quick', action='store_true',
                   help='only the build-time quick check (headers, file '
                   'ends, mask channels and sizes; no decoding)')
    p.add_argument('--workers', type=int, default=os.cpu_count() or 1,
                   help='threads that read and decode files')
    p.add_argument('--cfg-options', nargs='+', metavar='KEY=VALUE',
                   help='override settings in the config, key=value')
    args = p.parse_args(argv)
    bad = [o for o in args.cfg_options or [] if '=' not in o]
    if bad:
        p.error(f'--cfg-options takes KEY=VALUE pairs, got {bad}')
    if args.workers < 1:
        p.error(f'--workers must be >= 1, got {args.workers}')
    return args


def without_quick_check(cfg):
    """A copy of a dataset config whose split-aware datasets skip the quick
    check at build time (this tool runs it and reports every file)."""
    from semiseg_mm.datasets import SplitSegDatasetMixin
    from semiseg_mm.registry import DATASETS
    if isinstance(cfg, dict):
        out = {k: without_quick_check(v) for k, v in cfg.items()}
        kind = cfg.get('type')
        cls = DATASETS.get(kind) if isinstance(kind, str) else kind
        if isinstance(cls, type) and issubclass(cls, SplitSegDatasetMixin):
            out['quick_check'] = False
            out['verify'] = False
        return out
    if isinstance(cfg, (list, tuple)):
        return type(cfg)(without_quick_check(v) for v in cfg)
    return cfg


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import semiseg_mm  # noqa: F401
    from semiseg_mm.datasets.checks import (dataset_infos, describe,
                                            full_scan, label_rule,
                                            leaf_datasets, quick_check)
    from semiseg_mm.registry import DATASETS
    from semiseg_mm.utils.launch import parse_cfg_options
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(parse_cfg_options(args.cfg_options))
    init_default_scope(cfg.get('default_scope', 'semiseg_mm'))
    failed, seen = [], set()
    for split in args.splits:
        key = f'{split}_dataloader'
        if not cfg.get(key):
            continue
        dataset_cfg = without_quick_check(cfg[key]['dataset'].to_dict())
        dataset = DATASETS.build(dataset_cfg)
        for name, leaf in leaf_datasets(dataset, f'{key}.dataset'):
            infos = dataset_infos(leaf)
            files = tuple((d['img_path'], d.get('seg_map_path'))
                          for d in infos)
            if files in seen:  # test_dataloader = val_dataloader
                print(f'{name}: same files as above, skipped')
                continue
            seen.add(files)
            title = f'{name} {describe(leaf)}'
            report = quick_check(title, infos, args.workers) if args.quick \
                else full_scan(title, infos, label_rule(leaf),
                               workers=args.workers)
            print(report.summary())
            if not report.ok:
                failed.append(report)
    for report in failed:
        print('\n' + report.message(), file=sys.stderr)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
