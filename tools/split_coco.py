"""Write semi-supervised splits of a COCO annotation file (mmdet's
``semi_anns`` layout).

  python tools/split_coco.py data/coco/annotations/instances_train2017.json \
      --out data/coco/semi_anns --percents 1 2 5 10 --folds 1 2 3 4 5
  python tools/split_coco.py \
      data/synthetic_det/annotations/instances_train.json \
      --out data/synthetic_det/semi_anns --percents 10 --folds 1 2 3

Each (fold, percent) gives ``instances_<name>.<fold>@<percent>.json`` (the
labelled images and their boxes) and ``...@<percent>-unlabeled.json`` (the
other images; their boxes stay in the file for evaluation only). Fold k
draws with seed ``--seed + k``.
"""
import argparse


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('ann_file', help='COCO instances json')
    p.add_argument('--out', required=True, help='output folder')
    p.add_argument('--percents', type=float, nargs='+',
                   default=[1, 2, 5, 10])
    p.add_argument('--folds', type=int, nargs='+', default=[1, 2, 3, 4, 5])
    p.add_argument('--seed', type=int, default=0)
    args = p.parse_args()
    from semiseg_mm.det.coco_splits import write_splits
    for name, num in write_splits(args.ann_file, args.out, args.percents,
                                  args.folds, args.seed).items():
        print(f'{name}: {num} images')


if __name__ == '__main__':
    main()
