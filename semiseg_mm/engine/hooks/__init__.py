from .checkpoint_check_hook import (CheckpointCheckHook,
                                    CheckpointMismatchError)
from .dataset_check_hook import DatasetCheckHook
from .ema_teacher_hook import EMATeacherHook, ema_momentum, unwrap
from .finite_loss_hook import FiniteLossHook, NonFiniteLossError
from .pseudo_label_health_hook import (PseudoLabelCollapseError,
                                       PseudoLabelHealthHook,
                                       best_threshold_f1, probe_figures)

__all__ = [
    'EMATeacherHook', 'ema_momentum', 'unwrap', 'FiniteLossHook',
    'NonFiniteLossError', 'DatasetCheckHook', 'CheckpointCheckHook',
    'CheckpointMismatchError', 'PseudoLabelHealthHook',
    'PseudoLabelCollapseError', 'probe_figures', 'best_threshold_f1'
]
