"""Datasets, splits, transforms and samplers."""
from .base import DatasetError, SplitSegDatasetMixin
from .samplers import SemiSourceSampler, check_source_ratio
from .seg_datasets import (CityscapesSplitDataset, PascalVOCAugDataset,
                           SyntheticShapesDataset)
from .semi import SemiDataset, UDADataset
from .transforms import *  # noqa: F401,F403
from .uda_datasets import (SYNTHIA_CLASSES, SYNTHIA_CLASSES_13, GTA5Dataset,
                           SynthiaDataset, label_lut)

__all__ = [
    'DatasetError', 'SplitSegDatasetMixin', 'SyntheticShapesDataset',
    'PascalVOCAugDataset', 'CityscapesSplitDataset', 'SemiDataset',
    'UDADataset', 'SemiSourceSampler', 'check_source_ratio', 'GTA5Dataset',
    'SynthiaDataset', 'SYNTHIA_CLASSES', 'SYNTHIA_CLASSES_13', 'label_lut'
]
