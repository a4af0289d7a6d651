"""DACS: domain adaptation via cross-domain mixed sampling (Tranheden et al.,
WACV 2021; official code github.com/vikolss/DACS, ``trainUDA.py``).

Per iteration::

    L = CE(f(x_s), y_s)                                   # source supervision
    p_t = softmax(teacher(x_t))                           # EMA teacher, target
    M   = pixels of half the classes of y_s               # ClassMix
    x_m = aug(M * x_s + (1 - M) * x_t)                    # colour jitter, blur
    y_m = M * y_s + (1 - M) * argmax p_t
    w_m = M * 1   + (1 - M) * w(p_t)                      # confidence weight
    L  += lambda * mean(w_m * CE(f(x_m), y_m))

with ``w(p_t)`` the share of target pixels whose teacher confidence passes
0.968 (one number for the batch, ``pixel_weight='uniform'``, DACS's
``threshold_uniform``) or the per-pixel acceptance itself
(``pixel_weight='pixel'``, DACS's ``threshold``). The acceptance comes from
the model's ``pseudo_label_filter`` (default
``ConfidenceFilter(threshold=0.968)``), so any registered filter and the
pseudo-label health monitor work here as in FixMatch. The teacher is the
segmentor's EMA (``EMATeacherHook(momentum=0.99, student='segmentor')``).
"""
from typing import Dict, Optional

import torch
from torch import Tensor

from semiseg_mm.registry import MODELS
from ..filters import accepted_share
from ..losses.consistency import masked_cross_entropy
from ..utils import class_mix_masks, iteration_generator, valid_mask
from ..utils.params import batch_norm_statistics
from ..utils.forward import PartOutputs
from ..utils.photometric import (color_jitter, from_unit_range, gaussian_blur,
                                 to_unit_range)
from .semi_base import SampleList
from .uda_base import UDABaseSegmentor

PIXEL_WEIGHTS = ('uniform', 'pixel')
#: how the teacher's BatchNorm layers normalise the target batch: by its
#: own statistics (``'batch'``, the official code's training-mode EMA model)
#: or by the running statistics (``'running'``, eval mode)
TEACHER_NORMS = ('batch', 'running')
#: DACS's strong augmentation of the mixed image: colour jitter of strength
#: 0.25 on 80 % of the images, Gaussian blur (sigma 0.15-1.15) on half
DEFAULT_AUG = dict(
    jitter_strength=0.25, jitter_prob=0.8, blur_prob=0.5,
    blur_sigma=(0.15, 1.15))


@MODELS.register_module()
class DACS(UDABaseSegmentor):
    """Self-training UDA with ClassMix of source pixels into target images.

    Args:
        segmentor: mmseg ``EncoderDecoder`` config (student; the teacher is
            its copy).
        uda_cfg:
            - ``mix_weight``: lambda, the mixed-image loss weight (1.0);
            - ``pixel_weight``: ``'uniform'`` (default) or ``'pixel'``, see
              the module docstring;
            - ``strong_aug``: overrides of :data:`DEFAULT_AUG`
              (``jitter_strength``, ``jitter_prob``, ``blur_prob``,
              ``blur_sigma``); ``None`` turns the augmentation off;
            - ``teacher_norm``: ``'batch'`` (default, the official code's
              training-mode teacher: BatchNorm on the target batch's own
              statistics) or ``'running'`` (eval mode);
            - ``joint_forward``: see :class:`UDABaseSegmentor`.
            The class-ratio prior is not offered: the target predictions
            the student makes are on mixed images.
        pseudo_label_filter: which target pixels pass (default
            ``ConfidenceFilter(threshold=0.968)``).
    """
    uses_teacher = True
    semi_train_keys = ('joint_forward', 'mix_weight', 'pixel_weight',
                       'strong_aug', 'teacher_norm')

    def __init__(self, segmentor: dict, uda_cfg: dict = None,
                 **kwargs) -> None:
        super().__init__(segmentor, uda_cfg=uda_cfg, **kwargs)
        self.mix_weight = float(self.uda_cfg.get('mix_weight', 1.0))
        self.pixel_weight = self.uda_cfg.get('pixel_weight', 'uniform')
        if self.pixel_weight not in PIXEL_WEIGHTS:
            raise ValueError(
                f'DACS: uda_cfg.pixel_weight must be one of {PIXEL_WEIGHTS}, '
                f'got {self.pixel_weight!r}')
        self.teacher_norm = self.uda_cfg.get('teacher_norm', 'batch')
        if self.teacher_norm not in TEACHER_NORMS:
            raise ValueError(
                f'DACS: uda_cfg.teacher_norm must be one of {TEACHER_NORMS}, '
                f'got {self.teacher_norm!r}')
        aug = self.uda_cfg.get('strong_aug', {})
        if aug is None:
            self.strong_aug = None
        else:
            unknown = sorted(set(aug) - set(DEFAULT_AUG))
            if unknown:
                raise ValueError(
                    f'DACS: unknown uda_cfg.strong_aug key(s) {unknown}; '
                    f'known: {sorted(DEFAULT_AUG)}')
            self.strong_aug = {**DEFAULT_AUG, **aug}

    def default_filter(self) -> dict:
        return dict(type='ConfidenceFilter', threshold=0.968)

    def pseudo_label_context(self, model):
        """With ``teacher_norm='batch'`` the teacher's BatchNorm layers use
        the target batch's statistics (running statistics untouched)."""
        if self.teacher_norm == 'running':
            return super().pseudo_label_context(model)
        return batch_norm_statistics(model)

    # ------------------------------------------------------------------ #
    # the algorithm
    # ------------------------------------------------------------------ #
    @torch.no_grad()
    def student_target_inputs(self, inputs: Dict[str, Tensor],
                              samples: Dict[str, SampleList],
                              carry: dict) -> Dict[str, Tensor]:
        """The mixed images replace the target batch; their labels and
        pixel weights go to ``carry['mix']``."""
        x_s, x_t = inputs['source'], inputs['target']
        self._check_sizes(x_s, x_t)
        s_s, s_t = samples['source'], samples['target']
        # 1. teacher pseudo-labels on the target and how much they count
        probs = self.teacher_probs(x_t)
        valid_t = valid_mask(s_t, x_t.shape[-2:], x_t.device)
        labels_t, confidence, accept = self.filter_pseudo_labels(
            probs, valid_t)
        share = accepted_share(accept, valid_t)
        if self.pixel_weight == 'uniform':
            weight_t = share.expand_as(confidence).to(confidence.dtype)
        else:
            weight_t = accept.to(confidence.dtype)
        # 2. ClassMix: half the classes of each source image pasted in
        gt_s = self._labelled_masks(s_s, x_s.device).long()
        # every random draw of the iteration from one generator seeded by
        # (seed, iteration, rank): a resumed run mixes as an uninterrupted one
        gen = iteration_generator(x_s.device)
        mask = class_mix_masks(gt_s, gen)
        ignore = self.ignore_index_of_labels()
        pasted_ignore = mask & (gt_s == ignore)
        x_mix = torch.where(mask.unsqueeze(1), x_s, x_t)
        labels = torch.where(mask, gt_s.clamp(0, self.num_classes - 1),
                             labels_t)
        weight = torch.where(mask, torch.ones_like(weight_t), weight_t)
        weight = weight.masked_fill(pasted_ignore, 0.0)
        valid_s = valid_mask(s_s, x_s.shape[-2:], x_s.device)
        valid = torch.where(mask, valid_s, valid_t)
        # 3. the strong augmentation of the mixed image
        x_mix = self.augment(x_mix, gen)
        carry['mix'] = (labels, weight, valid)
        carry['mix_stats'] = dict(share=share, pasted=mask.float().mean())
        carry['vis'] = dict(
            image=x_mix,
            teacher_probs=probs,
            mix_mask=mask,
            mix_labels=labels,
            mix_weight=weight)
        return dict(inputs, target=x_mix)

    def target_losses(self, src: PartOutputs, tgt: PartOutputs,
                      probs_t: Dict[str, Tensor], valid_t: Tensor,
                      carry: dict) -> dict:
        labels, weight, valid = carry['mix']
        loss = masked_cross_entropy(tgt.logits['decode'][0], labels, weight,
                                    valid)
        stats = carry['mix_stats']
        return {
            'mix.loss_ce': self.mix_weight * loss,
            'mix.pseudo_weight': stats['share'],
            'mix.pasted_ratio': stats['pasted'],
        }

    # ------------------------------------------------------------------ #
    # helpers
    # ------------------------------------------------------------------ #
    def augment(self, x: Tensor,
                generator: Optional[torch.Generator] = None) -> Tensor:
        """Colour jitter and Gaussian blur of the preprocessed (RGB)
        images, in the preprocessor's normalisation."""
        if self.strong_aug is None:
            return x
        aug = self.strong_aug
        mean, std = self._normalisation()
        img = to_unit_range(x, mean, std)
        img = color_jitter(img, aug['jitter_strength'], aug['jitter_prob'],
                           generator)
        img = gaussian_blur(img, aug['blur_sigma'], aug['blur_prob'],
                            generator)
        return from_unit_range(img, mean, std)

    def _normalisation(self):
        """The data preprocessor's mean and std (0 and 1 when it does not
        normalise: the images are then in pixel values)."""
        pre = self.data_preprocessor
        pre = getattr(pre, 'data_preprocessor', pre)  # MultiBranch wrapper
        if not getattr(pre, '_enable_normalize', False):
            return [0.0] * 3, [1.0] * 3
        return pre.mean.flatten().tolist(), pre.std.flatten().tolist()

    @staticmethod
    def _check_sizes(x_s: Tensor, x_t: Tensor) -> None:
        if x_s.shape[0] != x_t.shape[0] or x_s.shape[-2:] != x_t.shape[-2:]:
            raise ValueError(
                'DACS pastes source image i into target image i: the source '
                f'batch {tuple(x_s.shape)} and the target batch '
                f'{tuple(x_t.shape)} must have the same size and crop '
                '(set equal source/target counts in SemiSourceSampler.'
                'source_ratio and the same crop_size in both pipelines)')
