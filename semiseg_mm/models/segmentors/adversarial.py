"""Adversarial domain adaptation: AdaptSegNet, AdvEnt and feature-level
alignment.

One iteration makes two optimiser steps (:class:`MultiOptimMixin`), as the
official training loops do (wasidennis/AdaptSegNet
``train_gta2cityscapes_multi.py``, valeoai/ADVENT
``advent/domain_adaptation/train_UDA.py``):

(a) ``segmentor`` step, discriminators frozen: supervised losses on the
    source; for every adapted level l, the discriminator D_l judges the
    target's map m_l (softmax for AdaptSegNet, entropy map for AdvEnt,
    features for feature-level alignment) and the segmentor is pushed to
    make D_l call it *source*: ``lambda_adv_l * L_adv(D_l(m_l), 0)``;
(b) ``discriminator`` step: each D_l learns to tell the source maps
    (label 0) from the target maps (label 1), both detached from (a):
    ``0.5 * L_adv(D_l(m_s), 0) + 0.5 * L_adv(D_l(m_t), 1)``.

The official loops accumulate both gradients and step all optimisers at
the end; since (b) sees detached maps and (a) frozen discriminators, the
two orders give the same update.
"""
import copy
from typing import Dict, Optional, Tuple

import torch.nn as nn
from torch import Tensor

from semiseg_mm.registry import MODELS
from ..losses.uda import (GAN_TYPES, SOURCE_LABEL, TARGET_LABEL,
                          AdversarialLoss, entropy_map)
from ..utils import call_through_wrapper
from ..utils.forward import PartOutputs
from ..wrappers import unwrap
from .multi_optim import MultiOptimMixin, OptimStep
from .uda_base import UDABaseSegmentor, level_names

#: lambda_adv of both official codes: main (conv5) and auxiliary (conv4)
ADV_WEIGHTS = dict(decode=0.001, aux=0.0002)


class AdversarialUDASegmentor(MultiOptimMixin, UDABaseSegmentor):
    """A segmentor and one discriminator per adapted output level.

    Args:
        segmentor: mmseg segmentor config (multi-level: with an
            ``auxiliary_head``).
        discriminator: config of each level's discriminator (default
            ``dict(type='FCDiscriminator')``; ``in_channels`` is filled in
            from what it judges).
        uda_cfg:
            - ``adv_weights``: ``{level: lambda_adv}`` over the segmentor's
              output levels (default ``decode`` 0.001 and, with an
              auxiliary head, ``aux`` 0.0002); one discriminator per level;
            - ``gan_type``: ``'vanilla'`` (BCE with logits) or ``'lsgan'``;
            - ``class_prior``, ``joint_forward``: see
              :class:`UDABaseSegmentor`.

    Optimisers (``MultiOptimWrapperConstructor``): ``segmentor``
    (``modules='segmentor'``; SGD 2.5e-4, heads x10 in the papers) and
    ``discriminator`` (``modules='discriminators'``; Adam 1e-4, betas
    (0.9, 0.99)), each with its own poly schedule keyed the same way.
    """
    semi_train_keys = UDABaseSegmentor.semi_train_keys + ('adv_weights',
                                                          'gan_type')

    def __init__(self,
                 segmentor: dict,
                 discriminator: Optional[dict] = None,
                 uda_cfg: Optional[dict] = None,
                 **kwargs) -> None:
        super().__init__(segmentor, uda_cfg=uda_cfg, **kwargs)
        self.adv_weights = self.level_weights('adv_weights', ADV_WEIGHTS)
        gan = self.uda_cfg.get('gan_type', 'vanilla')
        if gan not in GAN_TYPES:
            raise ValueError(f'{type(self).__name__}: uda_cfg.gan_type must '
                             f'be one of {GAN_TYPES}, got {gan!r}')
        self.adv_loss = AdversarialLoss(gan)
        d_cfg = dict(discriminator or dict(type='FCDiscriminator'))
        self.discriminators = nn.ModuleDict()
        for level in self.adv_weights:
            cfg = copy.deepcopy(d_cfg)
            channels = self.discriminator_channels(level)
            if cfg.setdefault('in_channels', channels) != channels:
                raise ValueError(
                    f"{type(self).__name__}: discriminator.in_channels="
                    f"{cfg['in_channels']}, but the {level!r} "
                    f'discriminator judges {channels}-channel maps (leave it '
                    'unset to have it filled in)')
            self.discriminators[level] = MODELS.build(cfg)

    # ------------------------------------------------------------------ #
    # what the discriminators see (the methods differ only here)
    # ------------------------------------------------------------------ #
    def discriminator_channels(self, level: str) -> int:
        return self.num_classes

    def discriminator_input(self, level: str, probs: Tensor,
                            part: PartOutputs) -> Tensor:
        """The map D_level judges for one domain's images: ``probs`` are
        that level's softmax outputs at input resolution."""
        raise NotImplementedError

    def needed_levels(self):
        return tuple(self.adv_weights)

    # ------------------------------------------------------------------ #
    # the two steps
    # ------------------------------------------------------------------ #
    def optim_steps(self) -> Tuple[OptimStep, OptimStep]:
        return (OptimStep('segmentor', self.segmenter_losses,
                          frozen=('discriminators', )),
                OptimStep('discriminator', self.discriminator_losses))

    def optim_wrapper_hint(self) -> str:
        return ("'segmentor' with modules='segmentor' and 'discriminator' "
                "with modules='discriminators', built with "
                "constructor='MultiOptimWrapperConstructor'")

    def target_losses(self, src: PartOutputs, tgt: PartOutputs,
                      probs_t: Dict[str, Tensor], valid_t: Tensor,
                      carry: dict) -> dict:
        """lambda_adv_l x L_adv(D_l(m_t), source) for every adapted level;
        the source and target maps, detached, go to the discriminator
        step."""
        losses = {}
        discriminators = unwrap(self.discriminators)
        maps_s, maps_t = {}, {}
        for level in level_names(self.adv_weights):
            m_t = self.discriminator_input(level, probs_t[level], tgt)
            m_s = self.discriminator_input(
                level, src.logits[level][0].detach().softmax(dim=1), src)
            losses[f'adv.loss_adv_{level}'] = self.adv_weights[level] * \
                self.adv_loss(discriminators[level](m_t), SOURCE_LABEL)
            maps_s[level], maps_t[level] = m_s.detach(), m_t.detach()
        carry['maps'] = (maps_s, maps_t)
        return losses

    def discriminator_losses(self, batch: Optional[dict],
                             carry: dict) -> dict:
        """Each D_l: source maps -> 0, target maps -> 1, halves summed (the
        official codes' ``loss_d / 2`` per domain)."""
        maps_s, maps_t = carry['maps']

        def run(discriminators):
            losses = {}
            for level in maps_s:
                d = discriminators[level]
                losses[f'disc.loss_d_{level}'] = 0.5 * (
                    self.adv_loss(d(maps_s[level]), SOURCE_LABEL) +
                    self.adv_loss(d(maps_t[level]), TARGET_LABEL))
            return losses

        return call_through_wrapper(self.discriminators, run)


@MODELS.register_module()
class AdaptSegNet(AdversarialUDASegmentor):
    """Output-space adaptation (Tsai et al., CVPR 2018): the discriminators
    see the softmax outputs of each level. Single-level: a segmentor without
    auxiliary head (or ``adv_weights=dict(decode=...)``); LS-GAN:
    ``gan_type='lsgan'``."""

    def discriminator_input(self, level: str, probs: Tensor,
                            part: PartOutputs) -> Tensor:
        return probs


@MODELS.register_module()
class AdvEnt(AdversarialUDASegmentor):
    """Adversarial entropy minimisation (Vu et al., CVPR 2019): the
    discriminators see the weighted self-information maps
    ``-p log2(p) / log2(C)`` (C channels) of each level's softmax, so the
    target predictions are pushed to be as certain, and certain in the same
    places, as the source ones."""

    def discriminator_input(self, level: str, probs: Tensor,
                            part: PartOutputs) -> Tensor:
        return entropy_map(probs)


@MODELS.register_module()
class FeatureAdversarial(AdversarialUDASegmentor):
    """Feature-level alignment (Hoffman et al., "FCNs in the Wild", 2016; the
    feature-adaptation baseline of AdaptSegNet's Table 1): each level's
    discriminator sees the features that level's head classifies (for
    DeepLabv2 heads the backbone stage, 2048 channels on conv5), so the
    adversarial gradient shapes the encoder's features directly instead of
    the output space."""
    needs_decoder_feats = True

    def __init__(self, segmentor: dict, discriminator: Optional[dict] = None,
                 uda_cfg: Optional[dict] = None, **kwargs) -> None:
        cfg = dict(uda_cfg or {})
        cfg.setdefault('adv_weights', dict(decode=ADV_WEIGHTS['decode']))
        if set(cfg['adv_weights']) != {'decode'}:
            raise ValueError(
                'FeatureAdversarial aligns the decode head\'s features: '
                "uda_cfg.adv_weights must be dict(decode=...), got "
                f"{dict(cfg['adv_weights'])}")
        super().__init__(segmentor, discriminator, uda_cfg=cfg, **kwargs)

    def discriminator_channels(self, level: str) -> int:
        head = self.segmentor_module().decode_head
        # mmseg heads classify `channels`-wide features; DeepLabv2's
        # classifies its input stage
        return getattr(head, 'feature_channels', head.channels)

    def discriminator_input(self, level: str, probs: Tensor,
                            part: PartOutputs) -> Tensor:
        return part.decoder_feats[0]
