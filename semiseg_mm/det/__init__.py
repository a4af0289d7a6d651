"""semiseg_mm's detection part: semi-supervised object detection on
MMDetection 3.x, in the ``semiseg_mm_det`` registry scope
(:mod:`semiseg_mm.det.registry`)."""
from semiseg_mm.datasets.samplers import ScheduledSourceSampler, SemiSourceSampler
from semiseg_mm.engine.hooks.checkpoint_check_hook import CheckpointCheckHook
from semiseg_mm.engine.hooks.ema_teacher_hook import EMATeacherHook
from semiseg_mm.engine.hooks.finite_loss_hook import FiniteLossHook

from .data_preprocessor import SemiDetDataPreprocessor
from .hooks import DetPseudoBoxHealthHook, SemiDetDataCheckHook
from .registry import DATA_SAMPLERS, HOOKS
from .soft_teacher import SemiSoftTeacher

# shared with the segmentation scope: the same classes in both registries
DATA_SAMPLERS.register_module(module=ScheduledSourceSampler)
DATA_SAMPLERS.register_module(module=SemiSourceSampler)
for _hook in (EMATeacherHook, FiniteLossHook, CheckpointCheckHook):
    HOOKS.register_module(module=_hook)

__all__ = [
    'ScheduledSourceSampler', 'SemiSourceSampler', 'EMATeacherHook',
    'FiniteLossHook', 'CheckpointCheckHook',
    'SemiDetDataPreprocessor', 'SemiSoftTeacher', 'DetPseudoBoxHealthHook',
    'SemiDetDataCheckHook'
]
