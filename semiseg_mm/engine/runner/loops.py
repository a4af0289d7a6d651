"""Validation of every sub-model of a semi-supervised segmentor."""
from typing import Optional, Sequence

from mmengine.runner import ValLoop

from semiseg_mm.models.wrappers import unwrap
from semiseg_mm.registry import LOOPS


@LOOPS.register_module()
class SubModelValLoop(ValLoop):
    """Evaluate the model once per predict branch and log ``<branch>/<key>``
    metrics, e.g. ``teacher/mIoU`` and ``student/mIoU`` for teacher-student
    methods (like mmdet's ``TeacherStudentValLoop``) or ``model1/mIoU``,
    ``model2/mIoU`` and ``ensemble/mIoU`` for GCT.

    Args:
        branches: the ``semi_test_cfg.predict_on`` values to evaluate
            (default: every branch the model offers).
        kwargs: ``ValLoop`` arguments (``runner``, ``dataloader``,
            ``evaluator``, ``fp16``).
    """

    def __init__(self, *args, branches: Optional[Sequence[str]] = None,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.branches = None if branches is None else tuple(branches)

    def run(self) -> dict:
        self.runner.call_hook('before_val')
        self.runner.call_hook('before_val_epoch')
        self.runner.model.eval()
        model = unwrap(self.runner.model)
        if not hasattr(model, 'predict_branches'):
            raise TypeError('SubModelValLoop needs a segmentor with '
                            f'predict_branches; got {type(model).__name__}')
        branches = self.branches or model.predict_branches
        unknown = [b for b in branches if b not in model.predict_branches]
        if unknown:
            raise ValueError(f'SubModelValLoop: branches {unknown} are not '
                             f'among {model.predict_branches}')
        previous = model.semi_test_cfg.get('predict_on')
        metrics = {}
        try:
            for branch in branches:
                model.semi_test_cfg['predict_on'] = branch
                for idx, data_batch in enumerate(self.dataloader):
                    self.run_iter(idx, data_batch)
                result = self.evaluator.evaluate(len(self.dataloader.dataset))
                metrics.update(
                    {f'{branch}/{k}': v
                     for k, v in result.items()})
        finally:
            model.semi_test_cfg['predict_on'] = previous
        self.runner.call_hook('after_val_epoch', metrics=metrics)
        self.runner.call_hook('after_val')
        return metrics
