"""Write labelled/unlabelled split files for semi-supervised training.

Draw splits from a dataset's image folder:
  python tools/make_splits.py data/VOCdevkit/VOC2012 --img-dir JPEGImages \
      --img-suffix .jpg --ids-from ImageSets/Segmentation/train.txt \
      ImageSets/Segmentation/aug.txt \
      --fractions 1/16 1/8 1/4 1/2 --seeds 0 1 2 --out splits/voc_aug
  python tools/make_splits.py data/cityscapes --img-dir leftImg8bit/train \
      --img-suffix _leftImg8bit.png --fractions 1/16 1/8 --out splits/cs
  python tools/make_splits.py data/VOCdevkit/VOC2012 --img-dir JPEGImages \
      --img-suffix .jpg --ids-from ImageSets/Segmentation/train.txt \
      --unlabeled-from ImageSets/Segmentation/train.txt \
      ImageSets/Segmentation/aug.txt --counts 92 183 366 732 1464 \
      --out splits/voc_classic

Import published CPS/UniMatch split files (so results compare with papers):
  python tools/make_splits.py data/VOCdevkit/VOC2012 --img-dir JPEGImages \
      --import-labeled unimatch/splits/pascal/1_16/labeled.txt \
      --import-unlabeled unimatch/splits/pascal/1_16/unlabeled.txt \
      --format voc --out splits/voc_aug/unimatch_1-16

Each split goes to ``<out>/<name>_seed<k>/{labeled,unlabeled}.txt`` (one image
id per line, what mmseg's ``ann_file`` expects); imports go to
``<out>/{labeled,unlabeled}.txt``. Ids are checked against the image folder;
an imported id listed twice is written once (the count of dropped duplicates
is printed), and a split that leaves no unlabelled image is warned about.
"""
import argparse
import os
import os.path as osp
import sys
from collections import Counter
from fractions import Fraction
from typing import List

# semiseg_mm (and with it torch) is imported once the arguments are parsed,
# so a usage error answers at once.
# the layouts of semiseg_mm.datasets.splits.PUBLISHED_FORMATS
FORMATS = ('cityscapes', 'voc')


def list_image_ids(img_dir: str, suffix: str, progress: bool) -> List[str]:
    """Ids of all images below ``img_dir`` (recursive), with a progress bar
    because Cityscapes/GTA5-size folders take a while on network disks."""
    from tqdm import tqdm
    ids = []
    walker = os.walk(img_dir)
    bar = tqdm(desc=f'scanning {img_dir}', unit='img', disable=not progress)
    for dirpath, _, files in walker:
        rel = osp.relpath(dirpath, img_dir)
        for f in files:
            if f.endswith(suffix):
                ids.append(osp.normpath(osp.join(rel, f[:-len(suffix)])))
                bar.update()
    bar.close()
    return sorted(ids)


def read_pool(root: str, lists: List[str], available: List[str],
              img_dir: str) -> List[str]:
    """Sorted union of the ids in ``lists`` (paths relative to ``root``),
    each checked against the images found in ``img_dir``."""
    from semiseg_mm.datasets.splits import read_ids
    pool, known = set(), set(available)
    for name in lists:
        path = osp.join(root, name)
        if not osp.isfile(path):
            fail(f'id list {path!r} does not exist')
        ids = read_ids(path)
        missing = [i for i in ids if i not in known]
        if missing:
            fail(f'{len(missing)} id(s) of {path!r} have no image in '
                 f'{img_dir!r}, e.g. {missing[:3]}')
        pool.update(ids)
    return sorted(pool)


def parse_fraction(text: str) -> float:
    try:
        value = float(Fraction(text))
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(
            f'expected a fraction like 1/16 or 0.25, got {text!r}')
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f'fraction must be in (0, 1]: {text}')
    return value


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('\n', 1)[1])
    p.add_argument('root', help='dataset root folder')
    p.add_argument('--img-dir', default='img_dir/train',
                   help='image folder relative to root')
    p.add_argument('--img-suffix', default=None,
                   help='image file suffix (default: .jpg for --format voc, '
                   'else .png)')
    p.add_argument('--ids-from', nargs='+', default=None,
                   help='draw from the ids in these lists (relative to '
                   'root; concatenated, duplicates dropped) instead of every '
                   'image in --img-dir')
    p.add_argument('--unlabeled-from', nargs='+', default=None,
                   help='ids (lists relative to root) the unlabelled set is '
                   'drawn from, minus the labelled ones (default: the same '
                   'pool as the labelled set). VOC classic splits: label '
                   'from train.txt, leave all of train.txt + aug.txt '
                   'unlabelled')
    p.add_argument('--fractions', type=parse_fraction, nargs='*', default=[])
    p.add_argument('--counts', type=int, nargs='*', default=[])
    p.add_argument('--seeds', type=int, nargs='+', default=[0])
    p.add_argument('--import-labeled', default=None,
                   help='a published labeled.txt to convert')
    p.add_argument('--import-unlabeled', default=None,
                   help='the matching unlabeled.txt (default: every other '
                   'image)')
    p.add_argument('--format', choices=FORMATS,
                   default=None, help='layout of the imported lists')
    p.add_argument('--out', required=True, help='output folder')
    p.add_argument('--no-progress', action='store_true')
    return p.parse_args(argv)


def fail(msg: str) -> None:
    sys.exit(f'make_splits: error: {msg}')


def warn(msg: str) -> None:
    print(f'make_splits: warning: {msg}', file=sys.stderr)


def report(folder: str, labeled: List[str], unlabeled: List[str]) -> None:
    print(f'{folder}: {len(labeled)} labelled, {len(unlabeled)} unlabelled')
    if not unlabeled:
        warn(f'{folder}: every image is labelled, unlabeled.txt is empty; '
             'semi-supervised training needs unlabelled images (a '
             'SemiDataset refuses an empty unlabelled set)')


def main(argv=None) -> None:
    args = parse_args(argv)
    from semiseg_mm.datasets.splits import (PUBLISHED_FORMATS, fraction_name,
                                            split_ids, write_ids)
    img_dir = osp.join(args.root, args.img_dir)
    if not osp.isdir(img_dir):
        fail(f'image folder {img_dir!r} does not exist (root={args.root!r}, '
             f'--img-dir={args.img_dir!r})')
    prefix, fmt_suffix = PUBLISHED_FORMATS.get(args.format, ('', ''))
    suffix = args.img_suffix or fmt_suffix or '.png'
    available = list_image_ids(img_dir, suffix, not args.no_progress)
    if not available:
        fail(f'no images ending in {suffix!r} below {img_dir!r}')
    pool = read_pool(args.root, args.ids_from, available, img_dir) \
        if args.ids_from else available
    unlabeled_pool = read_pool(args.root, args.unlabeled_from, available,
                               img_dir) if args.unlabeled_from else pool

    if args.import_labeled:
        import_published(args, pool, prefix, suffix)
        return
    if not args.fractions and not args.counts:
        fail('give --fractions and/or --counts, or --import-labeled')
    jobs = [(fraction_name(f), dict(fraction=f)) for f in args.fractions]
    jobs += [(str(c), dict(count=c)) for c in args.counts]
    for name, how in jobs:
        for seed in args.seeds:
            try:
                labeled = split_ids(pool, seed=seed, **how)
            except ValueError as e:
                fail(f'{name}: {e}')
            chosen = set(labeled)
            unlabeled = [i for i in unlabeled_pool if i not in chosen]
            folder = osp.join(args.out, f'{name}_seed{seed}')
            write_ids(osp.join(folder, 'labeled.txt'), labeled)
            write_ids(osp.join(folder, 'unlabeled.txt'), unlabeled)
            report(folder, labeled, unlabeled)


def import_published(args, pool: List[str], prefix: str,
                     suffix: str) -> None:
    from semiseg_mm.datasets.splits import (check_disjoint, id_from_entry,
                                            read_ids, write_ids)

    def convert(path: str) -> List[str]:
        if not osp.isfile(path):
            fail(f'split file {path!r} does not exist')
        ids = [id_from_entry(e, prefix, suffix) for e in read_ids(path)]
        known = set(pool)
        missing = [i for i in ids if i not in known]
        if missing:
            fail(f'{len(missing)} id(s) of {path!r} have no image in the '
                 f'pool, e.g. {missing[:3]} (check --format/--img-dir)')
        counts = Counter(ids)
        repeated = sorted(i for i, n in counts.items() if n > 1)
        if repeated:
            warn(f'{path}: {len(ids) - len(counts)} duplicate line(s) '
                 f'dropped ({len(ids)} lines, {len(counts)} distinct ids), '
                 f'e.g. {repeated[:3]}')
        return list(counts)  # first occurrences, in order

    labeled = convert(args.import_labeled)
    if args.import_unlabeled:
        unlabeled = convert(args.import_unlabeled)
    else:
        chosen = set(labeled)
        unlabeled = [i for i in pool if i not in chosen]
    try:
        check_disjoint(labeled, unlabeled, args.import_labeled,
                       args.import_unlabeled or 'the rest')
    except ValueError as e:
        fail(str(e))
    write_ids(osp.join(args.out, 'labeled.txt'), labeled)
    write_ids(osp.join(args.out, 'unlabeled.txt'), unlabeled)
    report(args.out, labeled, unlabeled)


if __name__ == '__main__':
    main()
