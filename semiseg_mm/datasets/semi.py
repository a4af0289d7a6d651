"""Two-source training sets: labelled + unlabelled images (semi-supervised)
and labelled source + unlabelled target domains (domain adaptation)."""
import copy
import os.path as osp
from typing import List, Optional, Sequence, Union

from mmengine.dataset import BaseDataset, ConcatDataset

from semiseg_mm.registry import DATASETS
from .base import DatasetError
from .splits import check_disjoint


@DATASETS.register_module()
class SemiDataset(ConcatDataset):
    """``ConcatDataset([labeled, unlabeled])`` with the checks semi-supervised
    training needs; sample it with ``MultiSourceSampler`` /
    ``SemiSourceSampler`` (``source_ratio=[labelled, unlabelled]``).

    Args:
        labeled: config (or dataset) of the labelled subset, e.g. a split
            file in ``ann_file``.
        unlabeled: config (or dataset) of the unlabelled images: the rest of
            the training set (``ann_file`` = the split's unlabeled.txt, or
            ``split=dict(..., subset='unlabeled')``) or a separate folder;
            usually ``with_label=False`` so no mask files are read.
        allow_overlap: permit images that are both labelled and unlabelled
            (off: an overlap means a wrong pair of split files).

    Raises:
        DatasetError: empty unlabelled set, or labelled/unlabelled overlap
            (image files compared by their resolved real paths, so a
            relative ``data_root``, a symlinked folder or ``a/../a`` does
            not hide an overlap).
    """
    #: names of the two sources, in order (messages, dataset checks)
    source_names = ('labeled', 'unlabeled')
    #: how messages call them
    source_titles = ('labelled', 'unlabelled')
    needs_second = 'semi-supervised training needs unlabelled images.'

    def __init__(self,
                 labeled: Union[dict, BaseDataset],
                 unlabeled: Union[dict, BaseDataset],
                 allow_overlap: bool = False,
                 lazy_init: bool = False) -> None:
        datasets = [
            DATASETS.build(copy.deepcopy(d)) if isinstance(d, dict) else d
            for d in (labeled, unlabeled)
        ]
        self._describe = [self._source(labeled), self._source(unlabeled)]
        name = type(self).__name__
        first, second = self.source_titles
        if len(datasets[1]) == 0:
            raise DatasetError(
                f'{name}: the {second} set ({self._describe[1]}) is empty; '
                f'{self.needs_second}')
        if len(datasets[0]) == 0:
            raise DatasetError(
                f'{name}: the {first} set ({self._describe[0]}) is empty.')
        if not allow_overlap:
            try:
                check_disjoint(
                    _image_paths(datasets[0]), _image_paths(datasets[1]),
                    self._describe[0], self._describe[1])
            except ValueError as e:
                raise DatasetError(f'{name}: {e}') from None
        # the second source has no masks, so only class names/palette
        # must agree (ConcatDataset compares the whole metainfo)
        super().__init__(datasets, lazy_init=lazy_init,
                         ignore_keys=_differing_keys(
                             datasets, name, self.source_titles))

    @staticmethod
    def _source(cfg) -> str:
        if not isinstance(cfg, dict):
            return type(cfg).__name__
        split = cfg.get('ann_file') or cfg.get('split') or cfg.get(
            'data_prefix', {}).get('img_path', '')
        return f"{cfg.get('type', '?')}: {split}"

    @property
    def labeled(self) -> BaseDataset:
        return self.datasets[0]

    @property
    def unlabeled(self) -> BaseDataset:
        return self.datasets[1]


def _image_paths(dataset: BaseDataset) -> List[str]:
    """Resolved real paths of the dataset's images."""
    return [
        osp.realpath(dataset.get_data_info(i)['img_path'])
        for i in range(len(dataset))
    ]


def _as_lists(value) -> Optional[list]:
    if value is None:
        return None
    return [list(v) if isinstance(v, (list, tuple)) else v for v in value]


def _differing_keys(datasets: Sequence[BaseDataset], owner: str,
                    titles: Sequence[str]) -> List[str]:
    """Metainfo keys ConcatDataset may ignore; classes/palette must agree."""
    a, b = datasets[0].metainfo, datasets[1].metainfo
    for key in ('classes', 'palette'):
        if _as_lists(a.get(key)) != _as_lists(b.get(key)):
            raise DatasetError(
                f'{owner}: {titles[0]} and {titles[1]} sets disagree on '
                f'{key}: {a.get(key)} ({type(datasets[0]).__name__}) vs '
                f'{b.get(key)} ({type(datasets[1]).__name__}); give both '
                f'the same metainfo (e.g. metainfo=dict(classes=..., '
                'palette=...) on one of them)')
    return [
        k for k in set(a) | set(b)
        if k not in ('classes', 'palette') and a.get(k) != b.get(k)
    ]


@DATASETS.register_module()
class UDADataset(SemiDataset):
    """Labelled source domain + unlabelled target domain for unsupervised
    domain adaptation: ``ConcatDataset([source, target])``, sampled with
    ``SemiSourceSampler(source_ratio=[n_source, n_target])`` so every batch
    holds both, each source with its own pipeline (its own resolution and
    augmentation, e.g. GTA5 at 1280x720 and Cityscapes at 1024x512).

    Args:
        source: config (or dataset) of the labelled source images (GTA5,
            SYNTHIA, the synthetic pair's ``source/``).
        target: config (or dataset) of the target training images, usually
            ``with_label=False`` (no masks needed or read).

    Raises:
        DatasetError: an empty source or target set, classes or palettes
            that differ between the domains (a SYNTHIA source needs its 16
            classes on the Cityscapes target too), or the same image files
            in both.
    """
    source_names = ('source', 'target')
    source_titles = ('source', 'target')
    needs_second = ('domain adaptation needs target images (check its '
                    'data_root / data_prefix.img_path)')

    def __init__(self,
                 source: Union[dict, BaseDataset],
                 target: Union[dict, BaseDataset],
                 allow_overlap: bool = False,
                 lazy_init: bool = False) -> None:
        super().__init__(source, target, allow_overlap, lazy_init)

    @property
    def source(self) -> BaseDataset:
        return self.datasets[0]

    @property
    def target(self) -> BaseDataset:
        return self.datasets[1]
