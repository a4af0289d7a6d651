"""Datasets, splits, transforms and samplers."""
from .base import DatasetError, SplitSegDatasetMixin
from .seg_datasets import (CityscapesSplitDataset, PascalVOCAugDataset,
                           SyntheticShapesDataset)

__all__ = [
    'DatasetError', 'SplitSegDatasetMixin', 'SyntheticShapesDataset',
    'PascalVOCAugDataset', 'CityscapesSplitDataset'
]
