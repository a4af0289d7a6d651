"""Samplers that mix labelled and unlabelled images in every batch."""
from typing import List, Optional, Sequence, Union

from mmdet.datasets.samplers import MultiSourceSampler

from semiseg_mm.registry import DATA_SAMPLERS


def check_source_ratio(batch_size: int,
                       source_ratio: Sequence[Union[int, float]],
                       num_sources: int) -> List[int]:
    """Images per source in a batch; raise unless the ratio splits the batch
    exactly into parts of at least one image each."""
    where = (f'train_dataloader.sampler: source_ratio={list(source_ratio)} '
             f'with batch_size={batch_size}')
    if len(source_ratio) != num_sources:
        raise ValueError(f'{where}: one ratio per source expected, the '
                         f'dataset has {num_sources} sources')
    if batch_size < 1 or any(r <= 0 for r in source_ratio):
        raise ValueError(f'{where}: batch_size and ratios must be positive')
    total = float(sum(source_ratio))
    parts = [batch_size * r / total for r in source_ratio]
    if any(abs(p - round(p)) > 1e-6 or round(p) < 1 for p in parts):
        raise ValueError(
            f'{where} does not fit: it asks for {parts} images per source. '
            'Choose a batch_size divisible into these proportions (e.g. '
            f'batch_size={int(total)} or a multiple for ratio '
            f'{list(source_ratio)}).')
    return [int(round(p)) for p in parts]


@DATA_SAMPLERS.register_module()
class SemiSourceSampler(MultiSourceSampler):
    """mmdet's ``MultiSourceSampler`` (fixed images per source in every
    batch, infinite per-source shuffled streams, iteration-based training)
    that refuses a ``source_ratio`` which does not split ``batch_size``
    exactly (mmdet silently rounds) or an empty source."""

    def __init__(self,
                 dataset,
                 batch_size: int,
                 source_ratio: Sequence[Union[int, float]],
                 shuffle: bool = True,
                 seed: Optional[int] = None) -> None:
        if not hasattr(dataset, 'cumulative_sizes'):
            raise TypeError(
                'SemiSourceSampler needs a ConcatDataset/SemiDataset, got '
                f'{type(dataset).__name__}')
        check_source_ratio(batch_size, source_ratio, len(dataset.datasets))
        for i, ds in enumerate(dataset.datasets):
            if len(ds) == 0:
                raise ValueError(f'SemiSourceSampler: source {i} is empty')
        super().__init__(dataset, batch_size, list(source_ratio), shuffle,
                         seed)
