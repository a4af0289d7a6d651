"""Checks of the data against the model that run when the runner starts.

* The model's ``num_classes`` (every decode and auxiliary head of every
  sub-model) equals the class count of each dataloader's dataset: a head
  with fewer outputs fails deep in the loss (``IndexError: Target 5 is out
  of bounds``), one with more trains silently on classes that never occur.
  Checked in ``before_run`` for training and for ``tools/test.py``.
* Before training starts, the validation masks are decoded and their values
  checked (:func:`~semiseg_mm.datasets.checks.full_scan`), so a bad mask
  stops the run at once instead of at the first validation, which the
  shipped configs run after all training.
"""
import re
from typing import Iterator, List, Tuple

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import BaseLoop
from mmseg.models.decode_heads.decode_head import BaseDecodeHead

from semiseg_mm.datasets.base import DatasetError
from semiseg_mm.datasets.checks import (dataset_infos, describe, full_scan,
                                        label_rule, leaf_datasets)
from semiseg_mm.models.wrappers import unwrap
from semiseg_mm.registry import HOOKS

#: the runner's loops and the config keys of their dataloaders
LOOPS = (('_train_loop', 'train_dataloader'), ('_val_loop', 'val_dataloader'),
         ('_test_loop', 'test_dataloader'))


def decode_heads(model) -> Iterator[Tuple[str, BaseDecodeHead]]:
    """``(config key, head)`` of every mmseg decode/auxiliary head.

    Sub-models of semi-supervised segmentors are mapped to the config key
    they are built from (``student.decode_head`` ->
    ``model.segmentor.decode_head``).
    """
    key_of = getattr(model, 'sub_model_config_key', None)
    # sub-networks that predict something else with decode heads (ELN's
    # error-localisation network: one logit per pixel) declare
    # ``predicts_classes = False``; their heads are not checked
    other = [name + '.' for name, m in model.named_modules()
             if name and getattr(m, 'predicts_classes', True) is False]
    for name, module in model.named_modules():
        if not isinstance(module, BaseDecodeHead) or any(
                name.startswith(p) for p in other):
            continue
        parts = name.split('.')
        if key_of is not None and parts[0] in model.sub_model_names():
            parts[0] = key_of(parts[0])
        # ModuleList entries: auxiliary_head.0 -> auxiliary_head[0]
        key = re.sub(r'\.(\d+)(?=\.|$)', r'[\1]', '.'.join(parts))
        yield f'model.{key}', module


@HOOKS.register_module()
class DatasetCheckHook(Hook):
    """Refuse data that does not fit the model before any iteration.

    Args:
        check_num_classes: compare every head's ``num_classes`` with each
            dataloader's dataset.
        scan_val: decode and check every validation mask before training
            (the quick check of the dataset only reads file headers).
        workers: threads of the validation scan.
    """
    priority = 'VERY_HIGH'

    def __init__(self,
                 check_num_classes: bool = True,
                 scan_val: bool = True,
                 workers: int = 4) -> None:
        self.check_num_classes = check_num_classes
        self.scan_val = scan_val
        self.workers = workers

    @staticmethod
    def _datasets(runner) -> List[Tuple[str, object]]:
        """``(config key, dataset)`` of the dataloaders built so far."""
        out = []
        for attr, key in LOOPS:
            loop = getattr(runner, attr, None)
            if isinstance(loop, BaseLoop) and hasattr(loop, 'dataloader'):
                out.append((f'{key}.dataset', loop.dataloader.dataset))
        return out

    def before_run(self, runner) -> None:
        if not self.check_num_classes:
            return
        model = unwrap(runner.model)
        # e.g. GCT with task_type='regression' predicts values, not classes
        heads = list(decode_heads(model)) if getattr(
            model, 'predicts_classes', True) else []
        if not heads:
            return
        for key, dataset in self._datasets(runner):
            classes = dataset.metainfo.get('classes')
            if classes is None:
                continue
            wrong = [(k, h.num_classes) for k, h in heads
                     if h.num_classes != len(classes)]
            if wrong:
                heads_txt = ', '.join(f'{k}.num_classes={n}' for k, n in wrong)
                raise DatasetError(
                    f'DatasetCheckHook: the model and {key} '
                    f'({type(dataset).__name__}) disagree on the number of '
                    f'classes: {heads_txt}, but the dataset has '
                    f'{len(classes)} classes {tuple(classes)}. Set '
                    f'num_classes={len(classes)} in those heads, or give the '
                    'dataset the classes the model predicts '
                    '(metainfo=dict(classes=...)).')

    def before_train(self, runner) -> None:
        if not self.scan_val:
            return
        loop = getattr(runner, '_val_loop', None)
        if not isinstance(loop, BaseLoop) or not hasattr(loop, 'dataloader'):
            return
        for name, dataset in leaf_datasets(loop.dataloader.dataset,
                                           'val_dataloader.dataset'):
            if not hasattr(dataset, 'metainfo') or 'classes' not in \
                    dataset.metainfo:
                continue
            infos = dataset_infos(dataset)
            if not any(d.get('seg_map_path') for d in infos):
                continue
            report = full_scan(f'{name} {describe(dataset)}', infos,
                               label_rule(dataset), images=False,
                               workers=self.workers)
            if not report.ok:
                raise DatasetError(
                    'DatasetCheckHook: validation masks checked before '
                    'training: ' + report.message())
            print_log(
                f'DatasetCheckHook: {report.summary()}', logger='current')
