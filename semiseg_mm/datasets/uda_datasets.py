"""Synthetic source domains of domain adaptation: GTA5 and SYNTHIA.

Both store raw label ids that training must map to the target's classes:

* GTA5 (Richter et al., "Playing for Data", ECCV 2016): 24,966 frames of
  1914x1052 px, ``images/<id>.png`` and ``labels/<id>.png``, palette PNGs
  holding Cityscapes *label ids* (0-33); the 19 that are Cityscapes train
  classes become train ids 0-18, every other id 255 (ignored), as in the
  official AdaptSegNet / ADVENT data loaders.
* SYNTHIA-RAND-CITYSCAPES (Ros et al., CVPR 2016): 9,400 frames of
  1280x760 px, ``RGB/<id>.png`` and ``GT/LABELS/<id>.png``, 16-bit
  three-channel PNGs whose first (red) channel holds the SYNTHIA class id
  and the second the instance id; the 16 classes it shares with Cityscapes
  become 0-15 (``SYNTHIA_CLASSES``), everything else 255. Papers report
  mIoU over these 16 and over 13 of them (without wall, fence and pole,
  ``SYNTHIA_CLASSES_13``); ``ClassSubsetIoUMetric`` reports both.

The mapping happens in ``LoadMappedAnnotations`` (one look-up table per
mapping, one vectorised pass per mask); the datasets put the mapping's name
(and the label channel) in every data info and refuse a pipeline that would
load the raw ids with mmseg's plain ``LoadAnnotations``. Their file checks
(``quick_check``, ``tools/check_dataset.py``) read the masks the same way.
"""
from typing import Dict, Optional, Sequence

import numpy as np
from mmseg.datasets import BaseSegDataset, CityscapesDataset

from semiseg_mm.registry import DATASETS
from .base import DatasetError, SplitSegDatasetMixin

#: Cityscapes label id -> train id (the 19 evaluated classes)
GTA5_TO_TRAIN_ID: Dict[int, int] = {
    7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9,
    23: 10, 24: 11, 25: 12, 26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18
}
#: the 16 Cityscapes classes SYNTHIA has, in Cityscapes' order
SYNTHIA_CLASSES = ('road', 'sidewalk', 'building', 'wall', 'fence', 'pole',
                   'traffic light', 'traffic sign', 'vegetation', 'sky',
                   'person', 'rider', 'car', 'bus', 'motorcycle', 'bicycle')
#: the 13 of them papers also report (no wall, fence, pole)
SYNTHIA_CLASSES_13 = tuple(c for c in SYNTHIA_CLASSES
                           if c not in ('wall', 'fence', 'pole'))
#: SYNTHIA class id -> index in SYNTHIA_CLASSES
SYNTHIA_TO_16: Dict[int, int] = {
    3: 0, 4: 1, 2: 2, 21: 3, 5: 4, 7: 5, 15: 6, 9: 7, 6: 8, 1: 9, 10: 10,
    17: 11, 8: 12, 19: 13, 12: 14, 11: 15
}
#: named raw-id mappings: (mapping, largest raw value the files may hold)
ID_MAPS = {
    'gta5': (GTA5_TO_TRAIN_ID, 255),
    'synthia16': (SYNTHIA_TO_16, 65535),
}
_LUTS: Dict[str, np.ndarray] = {}


def label_lut(name: str) -> np.ndarray:
    """The uint8 look-up table of a named mapping (unmapped ids -> 255)."""
    if name not in ID_MAPS:
        raise KeyError(f'unknown label id map {name!r}; known: '
                       f'{sorted(ID_MAPS)}')
    if name not in _LUTS:
        mapping, top = ID_MAPS[name]
        lut = np.full(top + 1, 255, np.uint8)
        for raw, new in mapping.items():
            lut[raw] = new
        _LUTS[name] = lut
    return _LUTS[name]


def synthia_palette() -> list:
    """Cityscapes' colours of the 16 SYNTHIA classes."""
    cs = CityscapesDataset.METAINFO
    return [cs['palette'][cs['classes'].index(c)] for c in SYNTHIA_CLASSES]


class RawIdDatasetMixin(SplitSegDatasetMixin):
    """Split-aware dataset whose masks hold raw ids mapped by
    ``LoadMappedAnnotations`` (put it first)."""
    #: key of ID_MAPS
    id_map: str = ''
    #: channel (RGB order) holding the class id; None for one-channel masks
    label_channel: Optional[int] = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.with_label:
            self._check_pipeline(self.pipeline.transforms)

    def _check_pipeline(self, transforms: Sequence) -> None:
        from .transforms.labels import LoadMappedAnnotations
        from mmseg.datasets.transforms import LoadAnnotations
        for i, t in enumerate(transforms):
            if isinstance(t, LoadAnnotations) and not isinstance(
                    t, LoadMappedAnnotations):
                raise DatasetError(
                    f'{self._name()}: pipeline[{i}] is LoadAnnotations, '
                    f'which would load the raw {self.id_map} label ids; use '
                    "dict(type='LoadMappedAnnotations') (it maps them to "
                    f'the {len(self._metainfo["classes"])} classes)')

    def _info(self, img_id: str) -> dict:
        info = super()._info(img_id)
        info['label_id_map'] = self.id_map
        if self.label_channel is not None:
            info['label_channel'] = self.label_channel
        return info


@DATASETS.register_module()
class GTA5Dataset(RawIdDatasetMixin, BaseSegDataset):
    """GTA5 with its label ids mapped to the 19 Cityscapes train ids.

    Layout: ``data_root/images/<id>.png``, ``data_root/labels/<id>.png``
    (``data_prefix=dict(img_path='images', seg_map_path='labels')``); all
    24,966 frames unless a split file (``ann_file``) lists some. Metainfo:
    Cityscapes' classes and palette, so a GTA5 -> Cityscapes pair agrees.
    """
    METAINFO = CityscapesDataset.METAINFO
    id_map = 'gta5'

    def __init__(self,
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '.png',
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)


@DATASETS.register_module()
class SynthiaDataset(RawIdDatasetMixin, BaseSegDataset):
    """SYNTHIA-RAND-CITYSCAPES with the 16 classes it shares with
    Cityscapes.

    Layout: ``data_root/RGB/<id>.png``, ``data_root/GT/LABELS/<id>.png``
    (``data_prefix=dict(img_path='RGB', seg_map_path='GT/LABELS')``). The
    Cityscapes side of SYNTHIA -> Cityscapes uses the same 16 classes
    (``CityscapesSplitDataset(metainfo=dict(classes=SYNTHIA_CLASSES))``).
    """
    METAINFO = dict(classes=SYNTHIA_CLASSES, palette=synthia_palette())
    id_map = 'synthia16'
    label_channel = 0

    def __init__(self,
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '.png',
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)
