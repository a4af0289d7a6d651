from .deeplabv2_head import DeepLabV2Head
from .flaw_detector import FlawDetector, IBNorm

__all__ = ['DeepLabV2Head', 'FlawDetector', 'IBNorm']
