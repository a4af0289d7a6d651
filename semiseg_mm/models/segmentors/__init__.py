from .adversarial import (AdaptSegNet, AdversarialUDASegmentor, AdvEnt,
                          FeatureAdversarial)
from .dacs import DACS
from .dual_branch import DualBranch, TeacherDualBranch
from .eln import ELN
from .ensemble import EnsembleSegmentor
from .fixmatch import FixMatch
from .gct import GCT
from .mean_teacher import MeanTeacher
from .minent import MinEnt
from .multi_optim import MultiOptimMixin, OptimStep
from .pixel_contrast import PixelContrastPretrain
from .projected import ProjectedEncoderDecoder
from .semi_base import SemiBaseSegmentor
from .uda_base import UDABaseSegmentor

__all__ = [
    'SemiBaseSegmentor', 'MeanTeacher', 'FixMatch', 'GCT',
    'EnsembleSegmentor', 'MultiOptimMixin', 'OptimStep', 'UDABaseSegmentor',
    'AdversarialUDASegmentor', 'AdaptSegNet', 'AdvEnt', 'FeatureAdversarial',
    'MinEnt', 'DACS', 'ELN', 'ProjectedEncoderDecoder', 'DualBranch',
    'TeacherDualBranch', 'PixelContrastPretrain'
]
