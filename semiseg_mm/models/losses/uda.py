"""Losses of adversarial and entropy-based domain adaptation.

* :func:`entropy_map`: ADVENT's weighted self-information
  ``I = -p log2(p + 1e-30) / log2(C)`` per class (``prob_2_entropy`` in
  valeoai/ADVENT ``advent/utils/func.py``): what AdvEnt's discriminator sees;
  summed over classes it is the normalised entropy in [0, 1].
* :func:`minent_loss`: MinEnt, the mean normalised entropy over target
  pixels (ADVENT ``entropy_loss``).
* :class:`AdversarialLoss`: a discriminator output against a constant
  domain label, vanilla GAN (BCE with logits) or least-squares GAN (MSE of
  the raw output), as AdaptSegNet's ``--gan Vanilla|LS``.
* :func:`class_ratio_prior_loss`: ADVENT's class-ratio prior (paper,
  section 3.3; not in the official code).

Domain labels follow both official codes: source 0, target 1. The
discriminator learns to tell them apart; the segmenter's adversarial term
asks it to call target outputs *source*.
"""
import json
import math
import os.path as osp
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from semiseg_mm.registry import MODELS

SOURCE_LABEL = 0.0
TARGET_LABEL = 1.0
#: the constant ADVENT adds inside log2
ENTROPY_EPS = 1e-30
GAN_TYPES = ('vanilla', 'lsgan')


def entropy_map(probs: Tensor) -> Tensor:
    """Weighted self-information maps (N, C, H, W) of softmax ``probs``:
    ``-p log2(p + 1e-30) / log2(C)``; their sum over classes is the
    entropy normalised to [0, 1]."""
    c = probs.shape[1]
    if c < 2:
        raise ValueError(f'entropy_map needs >= 2 classes, got {c}')
    return -probs * torch.log2(probs + ENTROPY_EPS) / math.log2(c)


def minent_loss(probs: Tensor, valid: Optional[Tensor] = None) -> Tensor:
    """Mean over pixels of the normalised entropy of ``probs``.

    ``valid`` (N, H, W) restricts the mean to image pixels (the data
    preprocessor's padding excluded); without it every pixel counts, as in
    ADVENT's ``entropy_loss`` (sum / (N H W log2 C)).
    """
    ent = entropy_map(probs).sum(dim=1)
    if valid is None:
        return ent.mean()
    valid = valid.to(ent.dtype)
    return (ent * valid).sum() / valid.sum().clamp(min=1.0)


@MODELS.register_module()
class AdversarialLoss(nn.Module):
    """Discriminator logits against a constant domain label.

    Args:
        gan_type: ``'vanilla'`` (BCE with logits, AdaptSegNet and ADVENT's
            default) or ``'lsgan'`` (mean squared error of the raw output,
            AdaptSegNet's ``--gan LS``).

    ``forward(d_out, label)``: ``label`` is :data:`SOURCE_LABEL` (0) or
    :data:`TARGET_LABEL` (1); the mean over every output cell.
    """

    def __init__(self, gan_type: str = 'vanilla') -> None:
        super().__init__()
        if gan_type not in GAN_TYPES:
            raise ValueError(f'AdversarialLoss: gan_type must be one of '
                             f'{GAN_TYPES}, got {gan_type!r}')
        self.gan_type = gan_type

    def forward(self, d_out: Tensor, label: float) -> Tensor:
        target = torch.full_like(d_out, float(label))
        if self.gan_type == 'vanilla':
            return F.binary_cross_entropy_with_logits(d_out, target)
        return F.mse_loss(d_out, target)


def class_ratio_prior_loss(probs: Tensor,
                           source_ratio: Tensor,
                           mu: float = 0.5,
                           valid: Optional[Tensor] = None) -> Tensor:
    """ADVENT's class-ratio prior: ``sum_c max(0, mu p_s^c - p_t^c)``.

    ``p_t^c`` is the mean predicted probability of class ``c`` over the
    (valid) pixels of each target image, ``p_s`` the source class
    frequencies; a class the target predictions give less than ``mu`` times
    its source share is pushed up, one above it costs nothing. Averaged over
    the images of the batch.
    """
    if source_ratio.numel() != probs.shape[1]:
        raise ValueError(
            f'class_ratio_prior_loss: {source_ratio.numel()} source ratios '
            f'for {probs.shape[1]} classes')
    if valid is None:
        p_t = probs.mean(dim=(2, 3))
    else:
        w = valid.to(probs.dtype).unsqueeze(1)
        p_t = (probs * w).sum(dim=(2, 3)) / w.sum(dim=(2, 3)).clamp(min=1.0)
    p_s = source_ratio.to(probs).view(1, -1)
    return F.relu(mu * p_s - p_t).sum(dim=1).mean()


def load_class_stats(path: str, classes: Optional[Sequence[str]] = None,
                     key: str = 'class_prior.file') -> Tensor:
    """Source class frequencies written by ``tools/source_class_stats.py``.

    Refuses a missing file, one without ``ratio``, and one whose class list
    differs from ``classes`` (the model's dataset), naming ``key``.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{key}: source class statistics {path} do not exist; write them '
            'with `python tools/source_class_stats.py CONFIG --out '
            f'{path}` (from the source dataset\'s labels)')
    with open(path) as f:
        try:
            stats = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f'{key}: {path} is not JSON ({e})') from None
    ratio = stats.get('ratio') if isinstance(stats, dict) else None
    if not isinstance(ratio, list) or not ratio:
        raise ValueError(f"{key}: {path} has no 'ratio' list (write it with "
                         'tools/source_class_stats.py)')
    if classes is not None and stats.get('classes') is not None and list(
            stats['classes']) != list(classes):
        raise ValueError(
            f'{key}: {path} holds statistics of the classes '
            f"{stats['classes']}, but the model's dataset has {list(classes)}")
    return torch.tensor(ratio, dtype=torch.float32)


__all__ = [
    'SOURCE_LABEL', 'TARGET_LABEL', 'entropy_map', 'minent_loss',
    'AdversarialLoss', 'class_ratio_prior_loss', 'load_class_stats',
    'GAN_TYPES'
]
