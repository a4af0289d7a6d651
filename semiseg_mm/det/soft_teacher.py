"""Soft Teacher (Xu et al., ICCV 2021) on mmdet's implementation.

mmdet 3.3's ``SoftTeacher`` already does what the paper describes: the EMA
teacher's boxes on the weak view, kept above ``pseudo_label_initial_score_thr``
and, per loss, above ``rpn_pseudo_thr`` / ``cls_pseudo_thr``; background
proposals' classification loss weighted by the teacher's background score
(the "soft teacher"); box regression learnt only from pseudo-boxes whose
jitter uncertainty (std of the teacher's refinements of ``jitter_times``
boxes jittered by ``jitter_scale`` of their size, over the box size) is
below ``reg_pseudo_thr``. :class:`SemiSoftTeacher` keeps all of that and
adds what a scheduled labelled share needs and what the project's other
methods have:

* a batch may hold no labelled image (the share reaches 0) or no unlabelled
  one: each part's loss is computed only when the part is there;
* every ``semi_train_cfg`` key has mmdet's default here, and a key it does
  not know, or a threshold outside [0, 1], stops the build naming the key;
* losses are named ``sup.*`` and ``unsup.*`` (the project's convention;
  mmdet writes ``sup_`` / ``unsup_``), plus ``sup.images``, the labelled
  images in the batch, and ``unsup.pseudo_boxes``, the mean number of
  pseudo-boxes per unlabelled image above ``cls_pseudo_thr``;
* mmdet's random draws inside the loss (proposal sampling, box jitter) come
  from torch's global generators seeded per iteration, so a resumed run
  repeats them exactly;
* the teacher stays in eval mode when the runner calls ``train()`` (mmdet's
  ``SoftTeacher`` leaves it in training mode, so a teacher with trainable
  BatchNorm would use batch statistics);
* the teacher is driven by the project's ``EMATeacherHook``;
* optionally (``burn_in_iters``, default 0: mmdet's behaviour) the first
  iterations train on the labelled images only, as Unbiased Teacher's
  burn-in does: a detector trained from scratch has no box above the score
  thresholds at first, and learning "no object anywhere" on the unlabelled
  images at ``unsup_weight`` 4 keeps it there.
"""
from typing import Dict, Optional

import torch
from mmdet.models.detectors import SoftTeacher
from torch import Tensor

from semiseg_mm.det.data_preprocessor import semi_det_preprocessor
from semiseg_mm.det.registry import MODELS
from semiseg_mm.models.utils import current_iter, iteration_rng

#: mmdet's defaults (configs/soft_teacher/*.py)
SOFT_TEACHER_DEFAULTS = dict(
    freeze_teacher=True,
    sup_weight=1.0,
    unsup_weight=4.0,
    pseudo_label_initial_score_thr=0.5,
    rpn_pseudo_thr=0.9,
    cls_pseudo_thr=0.9,
    reg_pseudo_thr=0.02,
    jitter_times=10,
    jitter_scale=0.06,
    min_pseudo_bbox_wh=(1e-2, 1e-2),
    # not mmdet's: iterations of supervised training before the teacher's
    # boxes are used (Unbiased Teacher's burn-in; 0 = mmdet's Soft Teacher)
    burn_in_iters=0)
_SHARES = ('pseudo_label_initial_score_thr', 'rpn_pseudo_thr',
           'cls_pseudo_thr')


def soft_teacher_train_cfg(cfg: Optional[dict]) -> dict:
    """``cfg`` over :data:`SOFT_TEACHER_DEFAULTS`, checked."""
    cfg = dict(cfg or {})
    unknown = sorted(set(cfg) - set(SOFT_TEACHER_DEFAULTS))
    if unknown:
        raise ValueError(
            f'model.semi_train_cfg: unknown key(s) {unknown}; known: '
            f'{sorted(SOFT_TEACHER_DEFAULTS)}')
    merged = dict(SOFT_TEACHER_DEFAULTS, **cfg)
    for key in _SHARES:
        if not 0.0 <= merged[key] <= 1.0:
            raise ValueError(f'model.semi_train_cfg.{key}={merged[key]!r}: '
                             'a score threshold in [0, 1] expected')
    for key in ('sup_weight', 'unsup_weight', 'reg_pseudo_thr',
                'jitter_scale'):
        if merged[key] < 0:
            raise ValueError(f'model.semi_train_cfg.{key}={merged[key]!r} '
                             'must be >= 0')
    if not isinstance(merged['burn_in_iters'],
                      int) or merged['burn_in_iters'] < 0:
        raise ValueError('model.semi_train_cfg.burn_in_iters='
                         f'{merged["burn_in_iters"]!r}: an integer >= 0 '
                         'expected')
    if not isinstance(merged['jitter_times'],
                      int) or merged['jitter_times'] < 2:
        raise ValueError('model.semi_train_cfg.jitter_times='
                         f'{merged["jitter_times"]!r}: an integer >= 2 '
                         'expected (the uncertainty is a std over them)')
    return merged


def _prefix(losses: Dict[str, Tensor], old: str, new: str) -> dict:
    return {(new + k[len(old):] if k.startswith(old) else k): v
            for k, v in losses.items()}


@MODELS.register_module()
class SemiSoftTeacher(SoftTeacher):
    """mmdet's ``SoftTeacher`` for batches with a scheduled labelled share
    (module docstring).

    Args:
        detector: a two-stage mmdet detector config (Faster R-CNN).
        semi_train_cfg: thresholds and weights
            (:data:`SOFT_TEACHER_DEFAULTS` for the keys and defaults).
        semi_test_cfg: ``predict_on`` (``'teacher'``, default, or
            ``'student'``); mmdet's ``TeacherStudentValLoop`` evaluates both.
        data_preprocessor: a single-branch ``DetDataPreprocessor`` config is
            wrapped in ``SemiDetDataPreprocessor``; ``None`` wraps the
            detector's own.
    """

    def __init__(self,
                 detector: dict,
                 semi_train_cfg: Optional[dict] = None,
                 semi_test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        from mmengine.config import ConfigDict
        train_cfg = ConfigDict(soft_teacher_train_cfg(semi_train_cfg))
        test_cfg = ConfigDict(
            dict(dict(predict_on='teacher'), **(semi_test_cfg or {})))
        if test_cfg.predict_on not in ('teacher', 'student'):
            raise ValueError('model.semi_test_cfg.predict_on must be '
                             "'teacher' or 'student', got "
                             f'{test_cfg.predict_on!r}')
        if 'roi_head' not in detector or 'rpn_head' not in detector:
            raise ValueError(
                f'{type(self).__name__}: needs a two-stage detector with '
                f'rpn_head and roi_head (Faster R-CNN), got '
                f'{detector.get("type")!r}')
        super().__init__(
            detector=detector,
            semi_train_cfg=train_cfg,
            semi_test_cfg=test_cfg,
            data_preprocessor=semi_det_preprocessor(data_preprocessor,
                                                    detector),
            init_cfg=init_cfg)

    def train(self, mode: bool = True) -> 'SemiSoftTeacher':
        super().train(mode)
        if self.semi_train_cfg.freeze_teacher:
            self.teacher.eval()
        return self

    def loss(self, multi_batch_inputs: Dict[str, Tensor],
             multi_batch_data_samples: Dict[str, list]) -> dict:
        # mmdet draws proposal samples and box jitter from torch's global
        # generators: seeded per iteration here, a resumed run repeats them
        with iteration_rng():
            return self._loss(multi_batch_inputs, multi_batch_data_samples)

    def _loss(self, multi_batch_inputs: Dict[str, Tensor],
              multi_batch_data_samples: Dict[str, list]) -> dict:
        sup = multi_batch_data_samples.get('sup', [])
        # logged every iteration: how many labelled images the batch held
        # (the sup.loss_* values of a batch without any are not updated)
        losses = {
            'sup.images':
            torch.tensor(float(len(sup)), device=self.data_preprocessor.device)
        }
        if sup:
            losses.update(
                _prefix(
                    self.loss_by_gt_instances(multi_batch_inputs['sup'],
                                              multi_batch_data_samples['sup']),
                    'sup_', 'sup.'))
        burn_in = current_iter() < self.semi_train_cfg.burn_in_iters
        if 'unsup_teacher' in multi_batch_inputs and not burn_in:
            if 'unsup_student' not in multi_batch_inputs:
                raise KeyError('SemiSoftTeacher: the batch has an '
                               "'unsup_teacher' branch but no 'unsup_student'")
            pseudo, batch_info = self.get_pseudo_instances(
                multi_batch_inputs['unsup_teacher'],
                multi_batch_data_samples['unsup_teacher'])
            student_samples = self.project_pseudo_instances(
                pseudo, multi_batch_data_samples['unsup_student'])
            multi_batch_data_samples['unsup_student'] = student_samples
            losses.update(
                _prefix(
                    self.loss_by_pseudo_instances(
                        multi_batch_inputs['unsup_student'], student_samples,
                        batch_info), 'unsup_', 'unsup.'))
            kept = [(s.gt_instances.scores >
                     self.semi_train_cfg.cls_pseudo_thr).sum()
                    for s in student_samples]
            losses['unsup.pseudo_boxes'] = torch.stack(kept).float().mean()
        if len(losses) == 1:
            if burn_in:
                raise ValueError(
                    f'SemiSoftTeacher: iteration {current_iter()} is in the '
                    'burn-in (model.semi_train_cfg.burn_in_iters='
                    f'{self.semi_train_cfg.burn_in_iters}) but its batch '
                    'holds no labelled image; end the burn-in before the '
                    'labelled share reaches 0')
            raise ValueError('SemiSoftTeacher: the batch has neither a '
                             "'sup' nor an 'unsup_teacher' branch")
        return losses
