from .multi_optim_constructor import MultiOptimWrapperConstructor
from .stage_lr import StagePolyLR

__all__ = ['MultiOptimWrapperConstructor', 'StagePolyLR']
