from .fixmatch import FixMatch
from .gct import GCT
from .mean_teacher import MeanTeacher
from .semi_base import SemiBaseSegmentor

__all__ = ['SemiBaseSegmentor', 'MeanTeacher', 'FixMatch', 'GCT']
