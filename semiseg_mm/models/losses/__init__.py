"""Losses and loss building blocks."""
from .consistency import (CONSISTENCY_LOSSES, masked_cross_entropy,
                          softmax_kl_loss, softmax_mse_loss)
from .contrastive import (class_contrastive_loss,
                          cropped_class_contrastive_loss, random_crop_windows,
                          same_class_mask, similarity_logits)
from .pixel_contrast import (BAGS, PixelContrastiveLoss, bag_losses,
                             sample_pixels)
from .eln import (accepted_cross_entropy, constrained_ce, eln_inputs,
                  eln_loss, eln_target, entropy)
from .gct import (dilate3x3, dynamic_consistency_loss,
                  dynamic_consistency_masks, flaw_correction_loss,
                  flaw_correction_mask, flaw_detector_loss, flaw_distance,
                  flaw_target, gaussian_blur, gaussian_kernel1d,
                  gaussian_sigma, minmax_normalize, odd_kernel_size,
                  process_flaw_map)
from .uda import (GAN_TYPES, SOURCE_LABEL, TARGET_LABEL, AdversarialLoss,
                  class_ratio_prior_loss, entropy_map, load_class_stats,
                  minent_loss)

__all__ = [
    'CONSISTENCY_LOSSES', 'masked_cross_entropy', 'softmax_kl_loss',
    'softmax_mse_loss',
    'odd_kernel_size', 'gaussian_sigma', 'gaussian_kernel1d',
    'gaussian_blur', 'minmax_normalize', 'flaw_distance', 'dilate3x3',
    'flaw_target', 'process_flaw_map', 'dynamic_consistency_masks',
    'flaw_correction_mask', 'dynamic_consistency_loss',
    'flaw_correction_loss', 'flaw_detector_loss', 'SOURCE_LABEL',
    'TARGET_LABEL', 'GAN_TYPES', 'AdversarialLoss', 'entropy_map',
    'minent_loss', 'class_ratio_prior_loss', 'load_class_stats',
    'similarity_logits', 'same_class_mask', 'class_contrastive_loss',
    'random_crop_windows', 'cropped_class_contrastive_loss', 'entropy',
    'eln_inputs', 'eln_target', 'eln_loss', 'constrained_ce',
    'accepted_cross_entropy', 'PixelContrastiveLoss', 'BAGS', 'bag_losses',
    'sample_pixels'
]
