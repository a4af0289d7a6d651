from .ensemble import EnsembleSegmentor
from .fixmatch import FixMatch
from .gct import GCT
from .mean_teacher import MeanTeacher
from .multi_optim import MultiOptimMixin, OptimStep
from .semi_base import SemiBaseSegmentor

__all__ = [
    'SemiBaseSegmentor', 'MeanTeacher', 'FixMatch', 'GCT',
    'EnsembleSegmentor', 'MultiOptimMixin', 'OptimStep'
]
