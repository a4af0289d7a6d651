"""Miniature copies of the real datasets' on-disk layouts, for tests that the
real-dataset configs build and draw batches.

Each writer puts a handful of images under ``<root>/data/...`` exactly where
and how the configs expect the real dataset (docs/get_started.md): file
names, folders, image sizes, mask encodings (VOC palette PNGs with 255
object borders, SBD-style index PNGs, Cityscapes ``labelTrainIds``), the
image-set lists, and split files written by ``tools/make_splits.py``.
"""
import os
import os.path as osp
import sys
from typing import Callable, Dict, List, Tuple

import cv2
import numpy as np
from PIL import Image

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _scene(w: int, h: int, num_classes: int, rng: np.random.Generator,
           background: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """A smooth BGR image and its label map: a few filled ellipses of
    random classes over ``background``."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([
        96 + 80 * np.sin(xx / (17 + 13 * c) + yy / (23 + 7 * c) + c)
        for c in range(3)
    ], -1).clip(0, 255).astype(np.uint8)
    label = np.full((h, w), background, np.uint8)
    for _ in range(int(rng.integers(2, 5))):
        cls = int(rng.integers(0, num_classes))
        centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        axes = (int(rng.integers(w // 12, w // 4)),
                int(rng.integers(h // 12, h // 4)))
        colour = tuple(int(v) for v in rng.integers(0, 255, 3))
        cv2.ellipse(img, centre, axes, 0, 0, 360, colour, -1)
        cv2.ellipse(label, centre, axes, 0, 0, 360, cls, -1)
    return img, label


def _borders(label: np.ndarray, width: int = 3) -> np.ndarray:
    """VOC's fine masks: 255 on a band along every object outline."""
    kernel = np.ones((width, width), np.uint8)
    edge = cv2.dilate(label, kernel) != cv2.erode(label, kernel)
    out = label.copy()
    out[edge] = 255
    return out


def _write_list(path: str, ids: List[str]) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(''.join(f'{i}\n' for i in ids))


def _make_splits(args: List[str]) -> None:
    sys.path.insert(0, osp.join(REPO, 'tools'))
    import make_splits
    make_splits.main(args + ['--no-progress'])


VOC_SIZES = [(500, 375), (375, 500), (500, 333), (486, 500), (500, 281)]


def write_voc_aug(root: str) -> str:
    """``data/VOCdevkit/VOC2012``: JPEGImages, SegmentationClass (palette
    PNGs, 255 borders), SegmentationClassAug (SBD-style index PNGs),
    ImageSets/Segmentation/{train,val,aug}.txt and the blended splits."""
    from mmseg.datasets import PascalVOCDataset
    palette = np.array(PascalVOCDataset.METAINFO['palette'], np.uint8)
    flat_palette = np.zeros((256, 3), np.uint8)
    flat_palette[:len(palette)] = palette
    flat_palette[255] = (224, 224, 192)  # VOC's border colour
    voc = osp.join(root, 'data', 'VOCdevkit', 'VOC2012')
    fine = ['2007_000032', '2007_000039', '2007_000063', '2008_000008']
    aug = ['2008_000015', '2008_000019', '2009_000001', '2010_000002']
    val = ['2007_000033', '2007_000042']
    rng = np.random.default_rng(0)
    for n, i in enumerate(fine + aug + val):
        w, h = VOC_SIZES[n % len(VOC_SIZES)]
        img, label = _scene(w, h, 21, rng)
        os.makedirs(osp.join(voc, 'JPEGImages'), exist_ok=True)
        cv2.imwrite(osp.join(voc, 'JPEGImages', f'{i}.jpg'), img,
                    [cv2.IMWRITE_JPEG_QUALITY, 90])
        if i in fine or i in val:
            m = Image.frombytes('P', (w, h), _borders(label).tobytes())
            m.putpalette(flat_palette.ravel().tolist())
            os.makedirs(osp.join(voc, 'SegmentationClass'), exist_ok=True)
            m.save(osp.join(voc, 'SegmentationClass', f'{i}.png'))
        if i not in val:
            os.makedirs(osp.join(voc, 'SegmentationClassAug'), exist_ok=True)
            cv2.imwrite(osp.join(voc, 'SegmentationClassAug', f'{i}.png'),
                        label)
    sets = osp.join(voc, 'ImageSets', 'Segmentation')
    _write_list(osp.join(sets, 'train.txt'), fine)
    _write_list(osp.join(sets, 'val.txt'), val)
    _write_list(osp.join(sets, 'aug.txt'), aug)
    _make_splits([
        voc, '--img-dir', 'JPEGImages', '--img-suffix', '.jpg', '--ids-from',
        'ImageSets/Segmentation/train.txt', 'ImageSets/Segmentation/aug.txt',
        '--fractions', '1/16', '1/8', '1/4', '1/2', '--seeds', '0', '--out',
        osp.join(voc, 'splits')
    ])
    return voc


def write_cityscapes(root: str) -> str:
    """``data/cityscapes``: leftImg8bit/{train,val}/<city>/*_leftImg8bit.png
    (2048x1024) with gtFine/*_gtFine_labelTrainIds.png (19 train ids, 255
    void), and the splits."""
    cs = osp.join(root, 'data', 'cityscapes')
    cities = {'train': ['aachen', 'bochum'], 'val': ['frankfurt']}
    rng = np.random.default_rng(1)
    for split, names in cities.items():
        for city in names:
            for k in range(2 if split == 'train' else 1):
                stem = f'{city}_{k:06d}_000019'
                img, label = _scene(2048, 1024, 19, rng, background=255)
                for folder, suffix, data in (
                        ('leftImg8bit', '_leftImg8bit.png', img),
                        ('gtFine', '_gtFine_labelTrainIds.png', label)):
                    d = osp.join(cs, folder, split, city)
                    os.makedirs(d, exist_ok=True)
                    cv2.imwrite(osp.join(d, stem + suffix), data,
                                [cv2.IMWRITE_PNG_COMPRESSION, 1])
    _make_splits([
        cs, '--img-dir', 'leftImg8bit/train', '--img-suffix',
        '_leftImg8bit.png', '--fractions', '1/16', '1/8', '1/4', '1/2',
        '--seeds', '0', '--out',
        osp.join(cs, 'splits')
    ])
    return cs


#: dataset type -> writer of its miniature layout; a real-dataset config
#: whose dataset is missing here fails its test until one is added
LAYOUTS: Dict[str, Callable[[str], str]] = {
    'PascalVOCAugDataset': write_voc_aug,
    'CityscapesSplitDataset': write_cityscapes,
}
#: datasets the tests generate themselves (the synthetic configs)
SYNTHETIC = ('SyntheticShapesDataset', )
