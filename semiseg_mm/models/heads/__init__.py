from .deeplabv2_head import DeepLabV2Head
from .eln_network import ELNNetwork
from .flaw_detector import FlawDetector, IBNorm
from .projection_head import ProjectionHead

__all__ = ['DeepLabV2Head', 'ELNNetwork', 'FlawDetector', 'IBNorm',
           'ProjectionHead']
