from .forward import full_res_logits, joint_forward
from .params import call_through_wrapper, frozen_params
from .pseudo_label import (class_mix_masks, cutmix_batch, cutmix_masks, mix,
                           pseudo_labels, roll_partner, valid_mask)
from .rampup import RampUp, build_rampup, current_iter
from .randomness import iteration_generator, iteration_rng, iteration_seed

__all__ = [
    'joint_forward', 'full_res_logits', 'pseudo_labels', 'valid_mask',
    'cutmix_batch', 'cutmix_masks', 'mix', 'roll_partner', 'RampUp',
    'build_rampup', 'current_iter', 'call_through_wrapper', 'frozen_params',
    'class_mix_masks', 'iteration_generator', 'iteration_rng',
    'iteration_seed'
]
