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
        '--fractions', '1/20', '1/16', '1/8', '1/4', '1/2', '--seeds', '0',
        '--out',
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


def write_gta5(root: str) -> str:
    """``data/gta5``: images/<id>.png (1914x1052) and labels/<id>.png,
    palette PNGs of Cityscapes label ids (0-33; those outside the 19 train
    classes included, as in the real frames)."""
    gta = osp.join(root, 'data', 'gta5')
    rng = np.random.default_rng(2)
    palette = np.zeros((256, 3), np.uint8)
    palette[:34] = rng.integers(0, 255, (34, 3))
    for d in ('images', 'labels'):
        os.makedirs(osp.join(gta, d), exist_ok=True)
    for i in (1, 2, 3):
        img, label = _scene(1914, 1052, 34, rng)
        cv2.imwrite(osp.join(gta, 'images', f'{i:05d}.png'), img,
                    [cv2.IMWRITE_PNG_COMPRESSION, 1])
        m = Image.frombytes('P', (1914, 1052), label.tobytes())
        m.putpalette(palette.ravel().tolist())
        m.save(osp.join(gta, 'labels', f'{i:05d}.png'))
    return gta


def write_synthia(root: str) -> str:
    """``data/synthia`` (SYNTHIA-RAND-CITYSCAPES): RGB/<id>.png (1280x760)
    and GT/LABELS/<id>.png, 16-bit three-channel PNGs with the SYNTHIA
    class id (0-22) in the first (red) channel and an instance id in the
    second."""
    syn = osp.join(root, 'data', 'synthia')
    rng = np.random.default_rng(3)
    for d in ('RGB', osp.join('GT', 'LABELS')):
        os.makedirs(osp.join(syn, d), exist_ok=True)
    for i in (0, 1, 2):
        img, label = _scene(1280, 760, 23, rng)
        cv2.imwrite(osp.join(syn, 'RGB', f'{i:07d}.png'), img,
                    [cv2.IMWRITE_PNG_COMPRESSION, 1])
        gt = np.zeros((760, 1280, 3), np.uint16)  # BGR for cv2
        gt[..., 2] = label
        gt[..., 1] = rng.integers(0, 3000, (760, 1280))
        cv2.imwrite(osp.join(syn, 'GT', 'LABELS', f'{i:07d}.png'), gt,
                    [cv2.IMWRITE_PNG_COMPRESSION, 1])
    return syn


#: dataset type -> writer of its miniature layout; a real-dataset config
#: whose dataset is missing here fails its test until one is added
def write_coco(root: str) -> str:
    """``data/coco``: ``train2017/`` and ``val2017/`` JPEGs, COCO
    ``annotations/instances_{train,val}2017.json`` with mmdet's 80 class
    names, and ``semi_anns/`` written by ``tools/split_coco.py`` (fold 1,
    1/2/5/10 %)."""
    import json
    from mmdet.datasets import CocoDataset
    base = osp.join(root, 'data', 'coco')
    names = CocoDataset.METAINFO['classes']
    rng = np.random.default_rng(0)
    for split, num in (('train2017', 20), ('val2017', 2)):
        os.makedirs(osp.join(base, split), exist_ok=True)
        coco = dict(images=[], annotations=[],
                    categories=[dict(id=i + 1, name=n)
                                for i, n in enumerate(names)])
        for i in range(num):
            img, _ = _scene(80, 60, 3, rng)
            name = f'{i:012d}.jpg'
            cv2.imwrite(osp.join(base, split, name), img)
            coco['images'].append(
                dict(id=i + 1, file_name=name, width=80, height=60))
            for k in range(2):
                x, y = int(rng.integers(0, 40)), int(rng.integers(0, 30))
                coco['annotations'].append(
                    dict(id=len(coco['annotations']) + 1, image_id=i + 1,
                         category_id=int(rng.integers(1, 81)),
                         bbox=[x, y, 20, 16], area=320, iscrowd=0))
        os.makedirs(osp.join(base, 'annotations'), exist_ok=True)
        with open(osp.join(base, 'annotations', f'instances_{split}.json'),
                  'w') as f:
            json.dump(coco, f)
    sys.path.insert(0, osp.join(REPO, 'tools'))
    from semiseg_mm.det.coco_splits import write_splits
    write_splits(
        osp.join(base, 'annotations', 'instances_train2017.json'),
        osp.join(base, 'semi_anns'), [1, 2, 5, 10], [1])
    return base


LAYOUTS: Dict[str, Callable[[str], str]] = {
    'CocoDataset': write_coco,
    'PascalVOCAugDataset': write_voc_aug,
    'CityscapesSplitDataset': write_cityscapes,
    'GTA5Dataset': write_gta5,
    'SynthiaDataset': write_synthia,
}
#: datasets the tests generate themselves (the synthetic configs)
SYNTHETIC = ('SyntheticShapesDataset', )
