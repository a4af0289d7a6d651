"""Generate the procedural datasets (deterministic from a seed).

Writes, under ``--out`` (default ``data/``):
  synthetic/            segmentation set in mmseg's layout (train/val/test)
                        + default splits
  synthetic_shapes/     the same with shape-only classes (random textures,
                        other scenes): the benchmark's robustness style
  synthetic_demo/       the textured look at 32 px (other scenes): what
                        `make demo` trains on
  synthetic_uda/        a source domain with little pixel noise and a
                        recoloured, blurred, noisier target domain (same
                        classes, textures and layout)
  synthetic_det/        COCO-format detection set (train/val/test) + its
                        semi-supervised splits (semi_anns/, 5 and 10 %,
                        folds 1-3, as tools/split_coco.py writes them)

A set that already exists with the same parameters is skipped, so running
this again is instant.

Example:
  python tools/make_synthetic.py --out data
  python tools/make_synthetic.py --out data --only seg --num-train 400
"""
import argparse
import dataclasses
import os.path as osp
import time

# semiseg_mm (and with it torch) is imported once the arguments are parsed.
DEFAULT_FRACTIONS = (1 / 16, 1 / 8, 1 / 4, 1 / 2)
# the detection set's labelled percentages and folds (semi_anns/)
DET_PERCENTS = (5, 10)
DET_FOLDS = (1, 2, 3)


def write_default_splits(root: str, seeds=(0, 1, 2),
                         fractions=DEFAULT_FRACTIONS) -> None:
    """``splits/<1-16>_seed<k>/{labeled,unlabeled}.txt`` over train."""
    from semiseg_mm.datasets.splits import fraction_name, split_ids, write_ids
    from semiseg_mm.datasets.synthetic import list_ids
    ids = list_ids(root, 'train')
    for frac in fractions:
        for seed in seeds:
            labeled = split_ids(ids, fraction=frac, seed=seed)
            chosen = set(labeled)
            folder = osp.join(root, 'splits',
                              f'{fraction_name(frac)}_seed{seed}')
            write_ids(osp.join(folder, 'labeled.txt'), labeled)
            write_ids(
                osp.join(folder, 'unlabeled.txt'),
                [i for i in ids if i not in chosen])


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', default='data', help='output folder')
    p.add_argument(
        '--only',
        choices=['seg', 'shapes', 'demo', 'uda', 'det'],
        nargs='+',
        default=['seg', 'shapes', 'demo', 'uda', 'det'],
        help='which sets to write (seg: the textured segmentation set, '
        'shapes: its shape-only style, demo: the 32 px set of make demo)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--size', type=int, default=None,
                   help='image size in px (default: each style\'s own, 64 '
                   'for the benchmark sets)')
    p.add_argument('--num-train', type=int, default=None,
                   help='training images (default: the generator\'s, 4800)')
    p.add_argument('--num-val', type=int, default=None,
                   help='validation images (default: the generator\'s, 200)')
    p.add_argument('--num-test', type=int, default=None,
                   help='test images (default: the generator\'s, 1000)')
    p.add_argument('--force', action='store_true', help='regenerate')
    p.add_argument('--no-progress', action='store_true')
    return p.parse_args()


def main():
    args = parse_args()
    from semiseg_mm.datasets.synthetic import (SEG_STYLES, SegSetSpec,
                                               make_detection_set,
                                               make_domain_pair,
                                               make_segmentation_set)
    progress = not args.no_progress
    t0 = time.time()
    sizes = dict(
        num_train=args.num_train, num_val=args.num_val,
        num_test=args.num_test)
    sizes = {k: v for k, v in sizes.items() if v is not None}
    for only, name in (('seg', 'textured'), ('shapes', 'shapes'),
                       ('demo', 'demo')):
        if only not in args.only:
            continue
        look = SEG_STYLES[name]
        root = osp.join(args.out, look.folder)
        style = look.style if args.size is None else dataclasses.replace(
            look.style, size=args.size)
        spec = SegSetSpec(
            **sizes, seed=args.seed + look.seed_offset, style=style)
        make_segmentation_set(root, spec, progress, args.force)
        write_default_splits(root)
        print(f'segmentation set ({name}: {look.description}): {root} '
              f'({spec.num_train} train, {spec.num_val} val, '
              f'{spec.num_test} test)')
    if 'uda' in args.only:
        root = osp.join(args.out, 'synthetic_uda')
        make_domain_pair(root, seed=args.seed, progress=progress,
                         force=args.force)
        print(f'domain pair: {root}/source, {root}/target')
    if 'det' in args.only:
        root = osp.join(args.out, 'synthetic_det')
        make_detection_set(root, seed=args.seed, progress=progress,
                           force=args.force)
        from semiseg_mm.det.coco_splits import write_splits
        write_splits(
            osp.join(root, 'annotations', 'instances_train.json'),
            osp.join(root, 'semi_anns'), DET_PERCENTS, DET_FOLDS)
        print(f'detection set: {root}')
    print(f'done in {time.time() - t0:.1f}s')


if __name__ == '__main__':
    main()
