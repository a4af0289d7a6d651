from .ema_teacher_hook import EMATeacherHook, ema_momentum, unwrap

__all__ = ['EMATeacherHook', 'ema_momentum', 'unwrap']
