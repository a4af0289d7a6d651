"""Exponential-moving-average teacher, shared by every teacher-student method.

``teacher = m_t * teacher + (1 - m_t) * student`` after each student step,
with the warm-up ``m_t = min(1 - 1 / (t + 1), m)`` (Mean Teacher; t counts
updates from 1), so early teachers follow the fast-changing student closely.
The student is copied into the teacher before the first step. For a
method trained in stages (``model.stages``), the teacher starts at the first
iteration of the first stage that uses one (the copy happens then, and t
counts from there) and is averaged only during stages that use it; the
count follows from the iteration, so a resumed run continues exactly.

Compared with mmdet's ``MeanTeacherHook`` (parameters only, one tensor at a
time, ``momentum = 1 - m``): the momentum here is the teacher's share ``m``
as papers write it, the warm-up is built in, buffers (BatchNorm statistics)
can be averaged or copied, and the update is one fused ``torch._foreach``
pass over all tensors.
"""
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.hooks import Hook

from semiseg_mm.models.wrappers import unwrap  # noqa: F401 (re-exported)
from semiseg_mm.registry import HOOKS

BUFFER_MODES = ('ema', 'copy', 'skip')


def ema_momentum(step: int, momentum: float, warmup: bool = True) -> float:
    """Teacher share ``m_t`` for the ``step``-th update (``step`` >= 1)."""
    if step < 1:
        raise ValueError(f'step counts updates from 1, got {step}')
    if not warmup:
        return momentum
    return min(1.0 - 1.0 / (step + 1), momentum)


@HOOKS.register_module()
class EMATeacherHook(Hook):
    """Keep ``model.<teacher>`` an EMA of ``model.<student>``.

    Args:
        momentum: teacher share ``m`` (0.99 Mean Teacher/U2PL, 0.995 ELN,
            0.999 AugSeg/DAFormer).
        warmup: use ``m_t = min(1 - 1/(t + 1), m)``.
        interval: update every ``interval`` iterations.
        buffer_mode: ``'ema'`` averages floating-point buffers (BatchNorm
            running statistics) like parameters, ``'copy'`` copies them
            from the student, ``'skip'`` leaves them (mmdet's behaviour; only
            sensible with frozen norm layers). Integer buffers (e.g.
            ``num_batches_tracked``) are copied unless ``'skip'``.
        student, teacher: attribute names of the two models.
    """
    priority = 'ABOVE_NORMAL'

    def __init__(self,
                 momentum: float = 0.99,
                 warmup: bool = True,
                 interval: int = 1,
                 buffer_mode: str = 'ema',
                 student: str = 'student',
                 teacher: str = 'teacher') -> None:
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f'momentum must be in [0, 1), got {momentum}')
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        if buffer_mode not in BUFFER_MODES:
            raise ValueError(
                f'buffer_mode must be one of {BUFFER_MODES}, got '
                f'{buffer_mode!r}')
        self.momentum = momentum
        self.warmup = warmup
        self.interval = interval
        self.buffer_mode = buffer_mode
        self.student_name = student
        self.teacher_name = teacher
        self._pairs: Optional[Tuple[List[torch.Tensor], ...]] = None
        self._begin = 0

    # ------------------------------------------------------------------ #
    def _models(self, runner) -> Tuple[nn.Module, nn.Module]:
        model = unwrap(runner.model)
        for name in (self.student_name, self.teacher_name):
            if not hasattr(model, name):
                raise AttributeError(
                    f'EMATeacherHook: {type(model).__name__} has no '
                    f'attribute {name!r}; use it with a teacher-student '
                    'segmentor or set student=/teacher= to the right names')
        return (unwrap(getattr(model, self.student_name)),
                unwrap(getattr(model, self.teacher_name)))

    def _collect(self, runner) -> Tuple[List[torch.Tensor], ...]:
        """Matching tensor lists: float params/buffers to average, tensors
        to copy. Built once; the runner loads checkpoints in place, so the
        references stay valid across resume."""
        student, teacher = self._models(runner)
        s_params = dict(student.named_parameters())
        t_params = dict(teacher.named_parameters())
        if s_params.keys() != t_params.keys():
            raise ValueError('EMATeacherHook: student and teacher have '
                             'different parameters: '
                             f'{sorted(s_params.keys() ^ t_params.keys())[:5]}')
        ema_s, ema_t, copy_s, copy_t = [], [], [], []
        for name, p in s_params.items():
            ema_s.append(p.detach())
            ema_t.append(t_params[name].detach())
        if self.buffer_mode != 'skip':
            t_bufs = dict(teacher.named_buffers())
            for name, b in student.named_buffers():
                if name not in t_bufs:
                    raise ValueError(f'EMATeacherHook: teacher lacks buffer '
                                     f'{name!r}')
                if self.buffer_mode == 'ema' and b.is_floating_point():
                    ema_s.append(b)
                    ema_t.append(t_bufs[name])
                else:
                    copy_s.append(b)
                    copy_t.append(t_bufs[name])
        return ema_s, ema_t, copy_s, copy_t

    @torch.no_grad()
    def copy_student_to_teacher(self, runner) -> None:
        student, teacher = self._models(runner)
        teacher.load_state_dict(student.state_dict())

    @torch.no_grad()
    def update(self, momentum: float) -> None:
        """One fused EMA step with teacher share ``momentum``."""
        ema_s, ema_t, copy_s, copy_t = self._pairs
        if ema_t:
            # t = m * t + (1 - m) * s  ==  lerp(t, s, 1 - m)
            torch._foreach_lerp_(ema_t, ema_s, 1.0 - momentum)
        if copy_t:
            torch._foreach_copy_(copy_t, copy_s)

    # ------------------------------------------------------------------ #
    @staticmethod
    def _stages(runner):
        return getattr(unwrap(runner.model), 'stages', None)

    def _teacher_in_use(self, runner, iteration: int) -> bool:
        stages = self._stages(runner)
        return stages is None or stages.at(iteration).teacher

    def before_train(self, runner) -> None:
        self._pairs = self._collect(runner)
        stages = self._stages(runner)
        self._begin = 0
        if stages is not None:
            begin = stages.teacher_begin()
            if begin is None:
                raise ValueError(
                    f'EMATeacherHook: no stage of '
                    f'{type(unwrap(runner.model)).__name__} ({stages}) uses '
                    'a teacher; remove the hook from custom_hooks')
            self._begin = begin
        if runner.iter == self._begin:
            self.copy_student_to_teacher(runner)

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        # a staged teacher starts from the student of its first iteration
        if runner.iter == self._begin and self._begin > 0:
            self.copy_student_to_teacher(runner)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        if runner.iter < self._begin or not self._teacher_in_use(
                runner, runner.iter):
            return
        # updates so far, including this one
        step = runner.iter + 1 - self._begin
        if step % self.interval:
            return
        m = ema_momentum(step // self.interval, self.momentum, self.warmup)
        self.update(m)
        runner.message_hub.update_scalar('train/ema_momentum', m)

