"""Split-aware segmentation datasets with clear errors for bad input.

:class:`SplitSegDatasetMixin` adds to any mmseg ``BaseSegDataset``:

* the labelled/unlabelled subset from a split file (``ann_file``, one image id
  per line, as written by ``tools/make_splits.py``) or from a fraction and a
  seed (``split=dict(fraction=1/16, seed=0, subset='labeled')``);
* ``with_label=False`` for unlabelled images: no mask file is needed or read;
* errors that name the file/key and what was expected, when it is built:
  a missing dataset folder, a missing split file, duplicate split ids, split
  ids with no image (or no mask), a bad ``split`` setting, and (the quick
  file check, :func:`~semiseg_mm.datasets.checks.quick_check`) unreadable or
  truncated image/mask files, masks with several channels or of another
  size than their image; with ``verify=True`` every file is also decoded and
  every mask value checked (:func:`~semiseg_mm.datasets.checks.full_scan`);
* on every sample the pipeline produces: mask values outside
  ``[0, num_classes)`` other than the ignore index, and masks that do not
  line up with their image.
"""
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence

import torch
from mmengine import list_from_file

from .checks import full_scan, label_rule, quick_check
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
        check_labels: check the label values and shapes of every produced
            sample.
        quick_check: when built, read the header and end of every image and
            mask file (a few KB each, no pixels): unreadable or truncated
            files, masks with several channels or of another size than
            their image stop here instead of when the sampler first draws
            them. Turn off only for storage where opening every file is
            slow.
        verify: when built, also decode every image and mask and check
            every mask value (the full scan of ``tools/check_dataset.py``).
    """

    def __init__(self,
                 *args,
                 with_label: bool = True,
                 split: Optional[Dict[str, Any]] = None,
                 check_labels: bool = True,
                 quick_check: bool = True,
                 verify: bool = False,
                 **kwargs) -> None:
        self.with_label = with_label
        self.split = dict(split) if split is not None else None
        self.check_labels = check_labels and with_label
        self.quick_check = quick_check
        self.verify = verify
        if self.split is not None:
            self._validate_split_cfg(self.split, kwargs.get('ann_file', ''))
        super().__init__(*args, **kwargs)

    # ------------------------------------------------------------------ #
    # construction-time checks
    # ------------------------------------------------------------------ #
    def _name(self) -> str:
        return type(self).__name__

    def _validate_split_cfg(self, split: dict, ann_file: str) -> None:
        where = f'{self._name()}: split={split}'
        unknown = set(split) - {'fraction', 'count', 'seed', 'subset'}
        if unknown:
            raise DatasetError(
                f'{where}: unknown keys {sorted(unknown)}; expected fraction '
                'or count, seed and subset')
        if ('fraction' in split) == ('count' in split):
            raise DatasetError(
                f'{where}: give exactly one of fraction (e.g. 0.0625) or '
                'count (e.g. 92)')
        fraction, count = split.get('fraction'), split.get('count')
        if fraction is not None and not (isinstance(
                fraction, (int, float)) and 0 < fraction <= 1):
            raise DatasetError(
                f'{where}: split.fraction must be a number in (0, 1] (the '
                f'labelled share, e.g. 0.0625 for 1/16), got {fraction!r}')
        if count is not None and not (isinstance(count, int)
                                      and not isinstance(count, bool)
                                      and count >= 1):
            raise DatasetError(
                f'{where}: split.count must be a whole number >= 1 (labelled '
                f'images), got {count!r}')
        if not isinstance(split.get('seed', 0), int):
            raise DatasetError(
                f"{where}: split.seed must be an int, got "
                f"{split.get('seed')!r}")
        if split.get('subset', 'labeled') not in _SUBSETS:
            raise DatasetError(
                f"{where}: split.subset must be one of {_SUBSETS}, got "
                f"{split.get('subset')!r}")
        if ann_file:
            raise DatasetError(
                f'{self._name()}: give either ann_file (a split file) or '
                f'split=dict(...), not both (ann_file={ann_file!r})')

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
        seen, repeated = set(), []
        for i in ids:
            if i in seen:
                repeated.append(i)
            seen.add(i)
        if repeated:
            # a repeated id would be sampled more often than the others:
            # usually two split files concatenated or a merge gone wrong
            raise DatasetError(
                f'{self._name()}: split file {self.ann_file!r} lists '
                f'{len(repeated)} duplicate id(s) ({len(ids)} lines, '
                f'{len(seen)} distinct ids), e.g. {sorted(set(repeated))[:3]}'
                '. Remove the duplicates (tools/make_splits.py writes each id '
                'once); to weight images, use a dataset wrapper such as '
                'RepeatDataset instead.')
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
        try:
            labeled = split_ids(
                all_ids,
                fraction=split.get('fraction'),
                count=split.get('count'),
                seed=split.get('seed', 0))
        except ValueError as e:
            raise DatasetError(
                f'{self._name()}: split={split} over '
                f'{self.data_prefix["img_path"]!r}: {e}') from None
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
        self._check_contents(data_list, source)
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

    def _check_contents(self, data_list: Sequence[dict],
                        source: str) -> None:
        """The quick file check and, with ``verify``, the full scan."""
        name = f'{self._name()} ({source})'
        if self.verify:
            report = full_scan(name, data_list, label_rule(self))
        elif self.quick_check:
            report = quick_check(name, data_list)
        else:
            return
        if not report.ok:
            raise DatasetError(
                report.message() + '\nFix or remove these files (`python '
                'tools/check_dataset.py CONFIG` lists every problem of a '
                'config\'s datasets).')

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
        # _metainfo: the metainfo property deep-copies (13 us a sample)
        num_classes = len(self._metainfo['classes'])
        for sample in samples:
            if 'gt_sem_seg' not in sample:
                continue
            self._check_sample_shape(sample, idx)
            seg = sample.gt_sem_seg.data
            lo, hi = torch.aminmax(seg)
            if lo >= 0 and hi < num_classes:  # the common case, one pass
                continue
            invalid = ((seg < 0) | (seg >= num_classes)) & (
                seg != self.ignore_index)
            if invalid.any():
                raise self._sample_error(
                    idx, f'holds label values '
                    f'{torch.unique(seg[invalid]).tolist()}, expected values '
                    f'in [0, {num_classes}) or the ignore index '
                    f'{self.ignore_index} (classes='
                    f'{list(self.metainfo["classes"])}; check '
                    'reduce_zero_label/label_map and the mask encoding).')

    def _sample_error(self, idx: int, what: str) -> DatasetError:
        path = self.get_data_info(idx).get('seg_map_path', '?')
        return DatasetError(f'{self._name()}: mask {path!r} {what}')

    def _check_sample_shape(self, sample, idx: int) -> None:
        """The packed mask is one channel as large as the image: its
        current size, or its original one (test pipelines resize the image
        and load the mask after, to evaluate at full resolution)."""
        seg = sample.gt_sem_seg.data
        meta = sample.metainfo
        sizes = {
            tuple(meta[k][:2])
            for k in ('img_shape', 'ori_shape') if k in meta
        } or {tuple(seg.shape[-2:])}
        if seg.dim() == 3 and seg.shape[0] == 1 and tuple(
                seg.shape[-2:]) in sizes:
            return
        raise self._sample_error(
            idx, f'comes out of the pipeline with '
            f'shape {tuple(seg.shape)} for an image of '
            f"{tuple(meta.get('img_shape', ()))[:2]} (originally "
            f"{tuple(meta.get('ori_shape', ()))[:2]}); expected a "
            "single-channel mask (1, H, W) of the image's size (is the mask "
            'file a colour image, or of another size than '
            f"{self.get_data_info(idx)['img_path']!r}?).")
