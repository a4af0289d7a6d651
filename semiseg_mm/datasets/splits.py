"""Labelled/unlabelled splits: drawing, writing, reading, importing.

A split is a list of image ids (paths relative to the image folder, without
the image suffix: what mmseg's ``ann_file`` lists). The labelled subset of
size ``ceil(N * fraction)`` (or ``count``) is drawn by a seeded permutation of
the sorted ids, which reproduces the subset sizes of the CPS/UniMatch splits
(VOC aug 1/16 = 662 of 10,582; Cityscapes 1/8 = 372 of 2,975).
"""
import math
import os
import os.path as osp
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np


def fraction_name(fraction: float) -> str:
    """``0.0625 -> '1-16'``, ``0.3 -> '0.3'`` (file-name safe)."""
    inv = 1.0 / fraction
    if abs(inv - round(inv)) < 1e-6:
        return f'1-{int(round(inv))}'
    return f'{fraction:g}'


def num_labeled(total: int,
                fraction: Optional[float] = None,
                count: Optional[int] = None) -> int:
    if (fraction is None) == (count is None):
        raise ValueError('give exactly one of fraction or count')
    if count is not None:
        n = int(count)
    else:
        if not 0 < fraction <= 1:
            raise ValueError(f'fraction must be in (0, 1], got {fraction}')
        n = math.ceil(total * fraction - 1e-9)
    if not 0 < n <= total:
        raise ValueError(
            f'cannot draw {n} labelled images from {total} images')
    return n


def split_ids(ids: Sequence[str],
              fraction: Optional[float] = None,
              count: Optional[int] = None,
              seed: int = 0) -> List[str]:
    """The labelled ids (sorted) drawn from ``ids`` with ``seed``."""
    ids = sorted(ids)
    n = num_labeled(len(ids), fraction, count)
    order = np.random.default_rng(seed).permutation(len(ids))[:n]
    return sorted(ids[i] for i in order)


def read_ids(path: str) -> List[str]:
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def write_ids(path: str, ids: Iterable[str]) -> None:
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    with open(path, 'w') as f:
        for i in ids:
            f.write(f'{i}\n')


def check_disjoint(labeled: Sequence[str], unlabeled: Sequence[str],
                   labeled_src: str, unlabeled_src: str) -> None:
    """Raise if a labelled id also appears among the unlabelled ones."""
    overlap = sorted(set(labeled) & set(unlabeled))
    if overlap:
        raise ValueError(
            f'{len(overlap)} id(s) are both labelled ({labeled_src}) and '
            f'unlabelled ({unlabeled_src}), e.g. {overlap[:5]}; a labelled '
            'image must not also be used as unlabelled.')


def id_from_entry(entry: str, img_prefix: str = '',
                  img_suffix: str = '') -> str:
    """Image id from one line of a published split file.

    CPS/UniMatch lines hold an image path, optionally followed by a mask path
    (``JPEGImages/2007_000032.jpg SegmentationClass/2007_000032.png``); the
    id is the image path without ``img_prefix`` and ``img_suffix``.
    """
    path = entry.split()[0]
    if img_prefix and path.startswith(img_prefix):
        path = path[len(img_prefix):]
    path = path.lstrip('/')
    if img_suffix and path.endswith(img_suffix):
        path = path[:-len(img_suffix)]
    else:
        path = osp.splitext(path)[0]
    return path


# how CPS/UniMatch list images, per dataset: (image prefix, image suffix)
PUBLISHED_FORMATS: Dict[str, Tuple[str, str]] = {
    'voc': ('JPEGImages/', '.jpg'),
    'cityscapes': ('leftImg8bit/train/', '_leftImg8bit.png'),
}
