"""mIoU over class subsets besides all classes."""
from typing import Dict, Optional, Sequence

import numpy as np
from mmseg.evaluation import IoUMetric

from semiseg_mm.registry import METRICS


@METRICS.register_module()
class ClassSubsetIoUMetric(IoUMetric):
    """mmseg's ``IoUMetric`` that also reports the mean IoU over named class
    subsets, e.g. SYNTHIA -> Cityscapes papers' 13-class mIoU next to the
    16-class one::

        val_evaluator = dict(type='ClassSubsetIoUMetric',
                             subsets=dict(mIoU13=SYNTHIA_CLASSES_13))

    Args:
        subsets: ``{metric name: class names}``; every name must be one of
            the dataset's classes (checked at the first evaluation). The
            subset means use the same per-class IoUs as ``mIoU``.
        kwargs: ``IoUMetric``'s arguments (``iou_metrics`` must include
            ``'mIoU'``).
    """

    def __init__(self,
                 subsets: Optional[Dict[str, Sequence[str]]] = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if 'mIoU' not in self.metrics:
            raise ValueError('ClassSubsetIoUMetric needs iou_metrics to '
                             f"include 'mIoU', got {self.metrics}")
        self.subsets = {k: list(v) for k, v in (subsets or {}).items()}
        for name, classes in self.subsets.items():
            if not classes:
                raise ValueError(f'ClassSubsetIoUMetric: subset {name!r} '
                                 'names no classes')

    def compute_metrics(self, results: list) -> Dict[str, float]:
        metrics = super().compute_metrics(results)
        if not self.subsets or self.format_only:
            return metrics
        parts = tuple(zip(*results))
        intersect = np.asarray(sum(parts[0]), dtype=np.float64)
        union = np.asarray(sum(parts[1]), dtype=np.float64)
        with np.errstate(invalid='ignore', divide='ignore'):
            iou = intersect / union
        classes = list(self.dataset_meta['classes'])
        for name, subset in self.subsets.items():
            unknown = [c for c in subset if c not in classes]
            if unknown:
                raise ValueError(
                    f'ClassSubsetIoUMetric: subset {name!r} names '
                    f'{unknown}, which are not among the classes {classes}')
            idx = [classes.index(c) for c in subset]
            metrics[name] = float(np.round(np.nanmean(iou[idx]) * 100, 2))
        return metrics
