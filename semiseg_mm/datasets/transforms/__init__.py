"""Data transforms of semiseg_mm (registered in ``semiseg_mm.registry``)."""
from .labels import LoadMappedAnnotations
from .strong_aug import (PACK_SEG_DEFAULT_META_KEYS, STRONG_META_KEYS,
                         GenerateCutMixBox, RandomColorJitter,
                         RandomGaussianBlur, RandomGrayscale, bgr_to_luma,
                         cutmix_box_mask)

__all__ = [
    'RandomColorJitter', 'RandomGrayscale', 'RandomGaussianBlur',
    'GenerateCutMixBox', 'cutmix_box_mask', 'bgr_to_luma',
    'STRONG_META_KEYS', 'PACK_SEG_DEFAULT_META_KEYS', 'LoadMappedAnnotations'
]
