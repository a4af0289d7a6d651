"""Samplers that mix labelled and unlabelled images in every batch."""
import itertools
import math
from typing import Iterator, List, Optional, Sequence, Union

import torch
from mmdet.datasets.samplers import MultiSourceSampler
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

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


SHARE_SCHEDULES = ('linear', 'cosine', 'constant')


def scheduled_share(batch: int, num_batches: int, start: float, end: float,
                    floor: float = 0.0, schedule: str = 'linear') -> float:
    """Labelled share of batch ``batch`` (counted from 0) under a schedule
    that goes from ``start`` at batch 0 to ``end`` at ``num_batches`` and
    stays there, never below ``floor``.

    ``linear``: ``start + (end - start) * t``; ``cosine``: ``end + (start -
    end) * (1 + cos(pi t)) / 2``; ``constant``: ``start``; with ``t =
    min(batch, num_batches) / num_batches``.
    """
    t = min(max(batch, 0), num_batches) / num_batches
    if schedule == 'linear':
        share = start + (end - start) * t
    elif schedule == 'cosine':
        share = end + (start - end) * (1.0 + math.cos(math.pi * t)) / 2.0
    elif schedule == 'constant':
        share = start
    else:
        raise ValueError(f'schedule must be one of {SHARE_SCHEDULES}, got '
                         f'{schedule!r}')
    return max(share, floor)


def labelled_count(share: float, batch_size: int) -> int:
    """Labelled images in a batch of ``batch_size`` for a share: the nearest
    integer, halves rounded up (so 0.5 of 5 is 3 and the count is a pure
    function of the share, the same on every rank and machine)."""
    return int(math.floor(share * batch_size + 0.5 + 1e-9))


class ScheduledSourceSampler(Sampler):
    """Infinite two-source sampler whose batches hold a scheduled number of
    labelled images (the rest unlabelled).

    The labelled share of batch ``b`` follows :func:`scheduled_share` (by
    default 0.5 at the start, falling linearly to 0 at ``num_batches``);
    each batch holds exactly :func:`labelled_count` labelled images, drawn
    from an infinite shuffled stream of the first source, and fills up with
    the second source's stream, so a batch may hold no labelled image at
    all (or no unlabelled one). Unlike mmdet's ``MultiSourceSampler`` (a
    fixed ``source_ratio``, which :class:`SemiSourceSampler` keeps
    available), the composition changes over training.

    The clock is the sampler's own batch counter, not the runner's
    iteration: a DataLoader prefetches batches ahead of the iteration that
    trains on them, and on resume MMEngine fast-forwards the loader by
    drawing the batches already trained on, which replays the counter to the
    resumed iteration. Every ``__iter__`` restarts the counter and the
    streams, so the sequence is a pure function of ``seed`` and the rank.

    In distributed training every rank draws ``batch_size`` images per
    batch with the same labelled count; each source's stream is split
    between the ranks (rank r takes positions r, r + world_size, ... of one
    shuffled sequence), so ranks draw disjoint images within each pass.

    Args:
        dataset: a ``ConcatDataset`` of the labelled and the unlabelled set.
        batch_size: images per batch on each rank; must equal the
            dataloader's ``batch_size``.
        num_batches: batches over which the share moves from ``start`` to
            ``end`` (usually ``train_cfg.max_iters``).
        start, end: labelled share at batch 0 and from ``num_batches`` on.
        floor: the share never goes below it.
        schedule: ``'linear'``, ``'cosine'`` or ``'constant'``.
        shuffle: shuffle each source's stream.
        seed: seed of the streams (the run's seed when built by the runner).
    """

    def __init__(self,
                 dataset,
                 batch_size: int,
                 num_batches: int,
                 start: float = 0.5,
                 end: float = 0.0,
                 floor: float = 0.0,
                 schedule: str = 'linear',
                 shuffle: bool = True,
                 seed: Optional[int] = None) -> None:
        where = 'train_dataloader.sampler (ScheduledSourceSampler)'
        if not hasattr(dataset, 'cumulative_sizes'):
            raise TypeError(f'{where}: needs a ConcatDataset of a labelled '
                            f'and an unlabelled set, got '
                            f'{type(dataset).__name__}')
        if len(dataset.datasets) != 2:
            raise ValueError(f'{where}: the dataset must have exactly 2 '
                             'sources (labelled, unlabelled), it has '
                             f'{len(dataset.datasets)}')
        if isinstance(batch_size, bool) or not isinstance(
                batch_size, int) or batch_size < 1:
            raise ValueError(f'{where}: batch_size must be a positive '
                             f'integer, got {batch_size!r}')
        if isinstance(num_batches, bool) or not isinstance(
                num_batches, int) or num_batches < 1:
            raise ValueError(f'{where}: num_batches must be a positive '
                             f'integer (the iterations the schedule spans), '
                             f'got {num_batches!r}')
        if schedule not in SHARE_SCHEDULES:
            raise ValueError(f'{where}: schedule must be one of '
                             f'{SHARE_SCHEDULES}, got {schedule!r}')
        for key, value in (('start', start), ('end', end), ('floor', floor)):
            if not isinstance(value, (int, float)) or isinstance(
                    value, bool) or not 0.0 <= value <= 1.0:
                raise ValueError(
                    f'{where}: {key}={value!r} is not a share in [0, 1]; a '
                    'batch would get a negative or more than batch_size '
                    'labelled images')
        self.rank, self.world_size = get_dist_info()
        self.dataset = dataset
        self.offsets = [0] + list(dataset.cumulative_sizes)
        self.batch_size = batch_size
        self.num_batches = num_batches
        self.start, self.end, self.floor = float(start), float(end), float(
            floor)
        self.schedule = schedule
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed
        counts = {
            labelled_count(self.share(b), batch_size)
            for b in (0, num_batches)
        }
        for i, ds in enumerate(dataset.datasets):
            needed = max(counts) if i == 0 else batch_size - min(counts)
            if len(ds) == 0 and needed > 0:
                raise ValueError(
                    f'{where}: source {i} '
                    f'({"labelled" if i == 0 else "unlabelled"}) is empty '
                    'but the schedule draws from it')

    def share(self, batch: int) -> float:
        """The labelled share of batch ``batch`` (from 0)."""
        return scheduled_share(batch, self.num_batches, self.start, self.end,
                               self.floor, self.schedule)

    def count(self, batch: int) -> int:
        """Labelled images in batch ``batch`` (from 0)."""
        return labelled_count(self.share(batch), self.batch_size)

    def _stream(self, source: int) -> Iterator[int]:
        """This rank's infinite index stream of one source (dataset-level
        indices)."""
        size = len(self.dataset.datasets[source])
        offset = self.offsets[source]
        g = torch.Generator()
        g.manual_seed(self.seed + source)

        def passes():
            while True:
                if self.shuffle:
                    yield from torch.randperm(size, generator=g).tolist()
                else:
                    yield from range(size)

        for idx in itertools.islice(passes(), self.rank, None,
                                    self.world_size):
            yield idx + offset

    def __iter__(self) -> Iterator[int]:
        labelled, unlabelled = self._stream(0), self._stream(1)
        batch = 0
        while True:
            n = self.count(batch)
            for _ in range(n):
                yield next(labelled)
            for _ in range(self.batch_size - n):
                yield next(unlabelled)
            batch += 1

    def __len__(self) -> int:
        return len(self.dataset)

    def set_epoch(self, epoch: int) -> None:
        """Iteration-based training only: nothing to do per epoch."""
