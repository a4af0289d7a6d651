from .checkpoint_check_hook import (CheckpointCheckHook,
                                    CheckpointMismatchError)
from .dataset_check_hook import DatasetCheckHook
from .ema_teacher_hook import EMATeacherHook, ema_momentum, unwrap
from .finite_loss_hook import FiniteLossHook, NonFiniteLossError

__all__ = [
    'EMATeacherHook', 'ema_momentum', 'unwrap', 'FiniteLossHook',
    'NonFiniteLossError', 'DatasetCheckHook', 'CheckpointCheckHook',
    'CheckpointMismatchError'
]
