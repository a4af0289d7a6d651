"""Semi-supervised splits of a COCO annotation file.

The layout of mmdet's ``semi_anns`` (its ``tools/misc/split_coco.py``):
``instances_<name>.<fold>@<percent>.json`` holds the labelled images with
their boxes, ``instances_<name>.<fold>@<percent>-unlabeled.json`` the others.
The unlabelled file keeps its images' boxes, as mmdet's does: training
never reads them (the unlabelled pipeline loads empty annotations), the
pseudo-label health view scores the teacher's boxes against them.
"""
import json
import os.path as osp
import random
from typing import Dict, List, Sequence, Tuple


def _fmt_percent(percent: float) -> str:
    return f'{percent:g}'


def split_names(ann_file: str, fold: int, percent: float) -> Tuple[str, str]:
    """File names (no folder) of the labelled and unlabelled parts, e.g.
    ``instances_train2017.1@10.json`` and
    ``instances_train2017.1@10-unlabeled.json``."""
    stem = osp.splitext(osp.basename(ann_file))[0]
    base = f'{stem}.{fold}@{_fmt_percent(percent)}'
    return f'{base}.json', f'{base}-unlabeled.json'


def load_coco(ann_file: str) -> dict:
    """The json, checked for what a split needs (images with unique ids,
    annotations naming existing images)."""
    with open(ann_file) as f:
        try:
            coco = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f'{ann_file}: not a JSON file ({e})') from None
    for key in ('images', 'annotations', 'categories'):
        if key not in coco:
            raise ValueError(f'{ann_file}: no {key!r} list (a COCO '
                             'instances file expected)')
    ids = [img['id'] for img in coco['images']]
    if len(set(ids)) != len(ids):
        raise ValueError(f'{ann_file}: image ids repeat')
    known = set(ids)
    orphans = sorted({a['image_id'] for a in coco['annotations']} - known)
    if orphans:
        raise ValueError(f'{ann_file}: annotations name image ids that are '
                         f'not in its images list: {orphans[:5]}')
    return coco


def split_coco(coco: dict, percent: float,
               seed: int) -> Tuple[List[int], List[int]]:
    """Labelled and unlabelled image ids: ``percent`` % of the images
    (rounded, at least one) drawn at random with ``seed``; both sorted."""
    if not 0 < percent < 100:
        raise ValueError(f'percent must be in (0, 100), got {percent}')
    ids = sorted(img['id'] for img in coco['images'])
    num = max(1, int(round(len(ids) * percent / 100.0)))
    if num >= len(ids):
        raise ValueError(f'{percent} % of {len(ids)} images leaves no '
                         'unlabelled image')
    labelled = sorted(random.Random(seed).sample(ids, num))
    chosen = set(labelled)
    return labelled, [i for i in ids if i not in chosen]


def subset(coco: dict, image_ids: Sequence[int]) -> dict:
    """The COCO dict restricted to ``image_ids`` (images, their
    annotations; categories and any other top-level keys unchanged)."""
    keep = set(image_ids)
    out = {k: v for k, v in coco.items() if k not in ('images', 'annotations')}
    out['images'] = [img for img in coco['images'] if img['id'] in keep]
    out['annotations'] = [
        a for a in coco['annotations'] if a['image_id'] in keep
    ]
    return out


def write_splits(ann_file: str, out_dir: str, percents: Sequence[float],
                 folds: Sequence[int], seed: int = 0) -> Dict[str, int]:
    """Write every (fold, percent) split of ``ann_file`` into ``out_dir``;
    fold ``k`` draws with seed ``seed + k``. Returns file name -> images."""
    import os
    coco = load_coco(ann_file)
    os.makedirs(out_dir, exist_ok=True)
    written = {}
    for fold in folds:
        for percent in percents:
            labelled, unlabelled = split_coco(coco, percent, seed + fold)
            for name, ids in zip(
                    split_names(ann_file, fold, percent),
                    (labelled, unlabelled)):
                with open(osp.join(out_dir, name), 'w') as f:
                    json.dump(subset(coco, ids), f)
                written[name] = len(ids)
    return written
