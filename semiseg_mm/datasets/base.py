"""Split-aware segmentation datasets with clear errors for bad input.

:class:`SplitSegDatasetMixin` adds to any mmseg ``BaseSegDataset``:

* the labelled/unlabelled subset from a split file (``ann_file``, one image id
  per line, as written by ``tools/make_splits.py``) or from a fraction and a
  seed (``split=dict(fraction=1/16, seed=0, subset='labeled')``);
* ``with_label=False`` for unlabelled images: no mask file is needed or read;
* errors that name the file/key and what was expected, for a missing dataset
  folder, a missing split file, split ids with no image (or no mask), and
  masks holding values outside ``[0, num_classes)`` other than the ignore
  index (checked on every sample the pipeline produces).
"""
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence

import torch
from mmengine import list_from_file

from .splits import split_ids

_SUBSETS = ('labeled', 'unlabeled')


class DatasetError(ValueError):
    """Bad dataset input (folder, split file, ids or mask values)."""


class SplitSegDatasetMixin:
    """Mixin for ``mmseg.datasets.BaseSegDataset`` subclasses (put it first).

    Args:
        with_label: whether samples come with masks. ``False`` for the
            unlabelled source of semi-supervised training (and UDA targets):
            no ``seg_map_path`` is set, mask files need not exist.
        split: alternative to a split file: ``dict(fraction=1/16 or count=92,
            seed=0, subset='labeled' | 'unlabeled')``; the ids are drawn from
            all images in ``data_prefix.img_path`` exactly as
            ``tools/make_splits.py`` draws them.
        check_labels: check the label values of every produced sample.
    """

    def __init__(self,
                 *args,
                 with_label: bool = True,
                 split: Optional[Dict[str, Any]] = None,
                 check_labels: bool = True,
                 **kwargs) -> None:
        self.with_label = with_label
        self.split = dict(split) if split is not None else None
        self.check_labels = check_labels and with_label
        if self.split is not None:
            self._validate_split_cfg(self.split, kwargs.get('ann_file', ''))
        super().__init__(*args, **kwargs)

    # ------------------------------------------------------------------ #
    # construction-time checks
    # ------------------------------------------------------------------ #
    def _name(self) -> str:
        return type(self).__name__

    @staticmethod
    def _validate_split_cfg(split: dict, ann_file: str) -> None:
        unknown = set(split) - {'fraction', 'count', 'seed', 'subset'}
        if unknown:
            raise DatasetError(
                f'split: unknown keys {sorted(unknown)}; expected fraction '
                'or count, seed and subset')
        if ('fraction' in split) == ('count' in split):
            raise DatasetError(
                'split: give exactly one of fraction (e.g. 0.0625) or count '
                f'(e.g. 92), got {split}')
        if split.get('subset', 'labeled') not in _SUBSETS:
            raise DatasetError(
                f"split.subset must be one of {_SUBSETS}, got "
                f"{split.get('subset')!r}")
        if ann_file:
            raise DatasetError(
                'give either ann_file (a split file) or split=dict(...), '
                f'not both (ann_file={ann_file!r})')

    def _check_folders(self) -> None:
        if self.data_root is not None and not osp.isdir(self.data_root):
            raise DatasetError(
                f'{self._name()}: dataset folder data_root='
                f'{self.data_root!r} does not exist. Prepare the dataset '
                '(docs/get_started.md; `python tools/make_synthetic.py` for '
                'the synthetic sets) or fix data_root in the config.')
        img_dir = self.data_prefix.get('img_path', '')
        if not osp.isdir(img_dir):
            raise DatasetError(
                f'{self._name()}: image folder data_prefix.img_path='
                f'{img_dir!r} does not exist (data_root={self.data_root!r}).')
        seg_dir = self.data_prefix.get('seg_map_path')
        if self.with_label and seg_dir and not osp.isdir(seg_dir):
            raise DatasetError(
                f'{self._name()}: mask folder data_prefix.seg_map_path='
                f'{seg_dir!r} does not exist. Set with_label=False for an '
                'unlabelled set.')

    def _read_split_file(self) -> List[str]:
        if not osp.isfile(self.ann_file):
            raise DatasetError(
                f'{self._name()}: split file ann_file={self.ann_file!r} does '
                'not exist. Expected a text file with one image id per line '
                '(write one with tools/make_splits.py).')
        ids = [
            line.strip() for line in list_from_file(self.ann_file)
            if line.strip()
        ]
        if not ids:
            raise DatasetError(
                f'{self._name()}: split file {self.ann_file!r} lists no ids.')
        return ids

    def _all_ids(self) -> List[str]:
        """Ids of every image in the image folder (relative, no suffix)."""
        img_dir = self.data_prefix['img_path']
        ids = []
        from mmengine import fileio
        for name in fileio.list_dir_or_file(
                img_dir, list_dir=False, suffix=self.img_suffix,
                recursive=True):
            ids.append(name[:-len(self.img_suffix)])
        return sorted(ids)

    def _subset_ids(self) -> List[str]:
        all_ids = self._all_ids()
        split = self.split
        labeled = split_ids(
            all_ids,
            fraction=split.get('fraction'),
            count=split.get('count'),
            seed=split.get('seed', 0))
        if split.get('subset', 'labeled') == 'labeled':
            return labeled
        chosen = set(labeled)
        return [i for i in all_ids if i not in chosen]

    def _info(self, img_id: str) -> dict:
        info = dict(
            img_path=osp.join(self.data_prefix['img_path'],
                              img_id + self.img_suffix),
            label_map=self.label_map,
            reduce_zero_label=self.reduce_zero_label,
            seg_fields=[])
        seg_dir = self.data_prefix.get('seg_map_path')
        if self.with_label and seg_dir:
            info['seg_map_path'] = osp.join(seg_dir,
                                            img_id + self.seg_map_suffix)
        return info

    def load_data_list(self) -> List[dict]:
        """Data infos of the configured subset, after checking the files."""
        self._check_folders()
        if self.split is not None:
            ids = self._subset_ids()
            source = (f'split={self.split} over '
                      f'{self.data_prefix["img_path"]!r}')
        elif self.ann_file:
            ids = self._read_split_file()
            source = f'split file {self.ann_file!r}'
        else:
            ids = self._all_ids()
            source = f'image folder {self.data_prefix["img_path"]!r}'
        data_list = [self._info(i) for i in ids]
        self._check_files(data_list, source)
        return data_list

    def _check_files(self, data_list: Sequence[dict], source: str) -> None:
        missing_img = [
            d['img_path'] for d in data_list if not osp.isfile(d['img_path'])
        ]
        if missing_img:
            raise DatasetError(
                f'{self._name()}: {len(missing_img)} id(s) of {source} have '
                f'no image, e.g. {missing_img[:3]} (expected image files '
                f'named <id>{self.img_suffix}).')
        missing_seg = [
            d['seg_map_path'] for d in data_list
            if 'seg_map_path' in d and not osp.isfile(d['seg_map_path'])
        ]
        if missing_seg:
            raise DatasetError(
                f'{self._name()}: {len(missing_seg)} id(s) of {source} have '
                f'no mask, e.g. {missing_seg[:3]} (expected mask files named '
                f'<id>{self.seg_map_suffix}; use with_label=False for '
                'unlabelled images).')
        if not data_list:
            raise DatasetError(f'{self._name()}: {source} yields no images.')

    # ------------------------------------------------------------------ #
    # per-sample label check
    # ------------------------------------------------------------------ #
    def prepare_data(self, idx: int) -> Any:
        results = super().prepare_data(idx)
        if self.check_labels and results is not None:
            self._check_sample_labels(results, idx)
        return results

    def _check_sample_labels(self, results: dict, idx: int) -> None:
        samples = results.get('data_samples')
        if isinstance(samples, dict):  # MultiBranch output
            samples = [s for s in samples.values() if s is not None]
        elif samples is not None:
            samples = [samples]
        else:
            return
        num_classes = len(self.metainfo['classes'])
        for sample in samples:
            if 'gt_sem_seg' not in sample:
                continue
            bad = bad_label_values(
                torch.unique(sample.gt_sem_seg.data).tolist(), num_classes,
                self.ignore_index)
            if bad:
                path = self.get_data_info(idx).get('seg_map_path', '?')
                raise DatasetError(
                    f'{self._name()}: mask {path!r} holds label values '
                    f'{bad}, expected values in [0, {num_classes}) '
                    f'or the ignore index {self.ignore_index} '
                    f'(classes={list(self.metainfo["classes"])}; check '
                    'reduce_zero_label/label_map and the mask encoding).')



def bad_label_values(values: Sequence[int], num_classes: int,
                     ignore_index: int) -> List[int]:
    """The values outside ``[0, num_classes)`` that are not ``ignore_index``."""
    return [
        int(v) for v in values
        if (v < 0 or v >= num_classes) and v != ignore_index
    ]
