"""Split-aware versions of the datasets our configs train on."""
from mmseg.datasets import BaseSegDataset, CityscapesDataset, PascalVOCDataset

from semiseg_mm.registry import DATASETS
from .base import SplitSegDatasetMixin
from .synthetic import CLASSES, PALETTE


@DATASETS.register_module()
class SyntheticShapesDataset(SplitSegDatasetMixin, BaseSegDataset):
    """The procedural shapes set (``tools/make_synthetic.py``).

    Layout: ``img_dir/{train,val}/<id>.png`` and ``ann_dir/{train,val}/
    <id>.png`` with class indices 0..5 (0 = background, counted in mIoU).
    """
    METAINFO = dict(classes=CLASSES, palette=PALETTE)

    def __init__(self,
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '.png',
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)


@DATASETS.register_module()
class PascalVOCAugDataset(SplitSegDatasetMixin, BaseSegDataset):
    """PASCAL VOC 2012 with the SBD augmented masks (10,582 train images).

    ``data_prefix=dict(img_path='JPEGImages', seg_map_path=
    'SegmentationClassAug')``; ``ann_file`` is a split file (e.g. a labelled
    subset written by ``tools/make_splits.py``). See docs/get_started.md.
    """

    # mmseg's PascalVOCDataset insists on an ann_file; ours may instead draw
    # the subset with `split=dict(...)` or list the whole image folder.
    METAINFO = PascalVOCDataset.METAINFO

    def __init__(self,
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)


@DATASETS.register_module()
class CityscapesSplitDataset(SplitSegDatasetMixin, CityscapesDataset):
    """Cityscapes (19 train ids) restricted to a split file of ids such as
    ``aachen/aachen_000000_000019``."""
