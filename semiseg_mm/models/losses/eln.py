"""ELN's losses (Kwon & Kwak, "Semi-supervised Semantic Segmentation with
Error Localization Network", CVPR 2022; official code kinux98/SSL_ELN,
``utils/main_do.py``).

- :func:`eln_inputs`: what the error-localisation network sees, the image,
  the per-pixel entropy of the segmentation softmax and the segmentation
  logits (3 + 1 + C channels, logits detached and upsampled to the image);
- :func:`eln_target` / :func:`eln_loss`: BCE of the ELN logit towards
  "the prediction is correct here" (ignore-label pixels count as errors),
  error pixels re-weighted by #correct / #error, mean over pixels;
- :func:`constrained_ce`: an auxiliary decoder's CE counts only while it is
  at least ``alpha`` times the main decoder's, so the auxiliary decoders stay
  worse than the main one and make varied errors for ELN to learn from.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor


def entropy(logits: Tensor) -> Tensor:
    """(N, H, W) Shannon entropy (natural log) of ``softmax(logits)`` over
    dim 1, as the official ELN input uses (not normalised by log C)."""
    logp = F.log_softmax(logits, dim=1)
    return -(logp.exp() * logp).sum(dim=1)


def eln_inputs(images: Tensor, seg_logits: Tensor) -> Tensor:
    """(N, 3 + 1 + C, H, W): images, entropy and logits of the segmentation
    prediction, the logits detached and bilinearly upsampled to the images
    (align_corners=True, as the official code)."""
    logits = seg_logits.detach()
    if logits.shape[-2:] != images.shape[-2:]:
        logits = F.interpolate(logits, size=images.shape[-2:],
                               mode='bilinear', align_corners=True)
    return torch.cat([images, entropy(logits)[:, None], logits], dim=1)


def eln_target(seg_logits: Tensor, labels: Tensor) -> Tensor:
    """(N, H, W) float, 1 where ``argmax(seg_logits) == label``; ignore-label
    pixels are never equal to a class, so they count as errors (as in the
    official code). ``seg_logits`` are upsampled to the labels first."""
    if seg_logits.shape[-2:] != labels.shape[-2:]:
        seg_logits = F.interpolate(seg_logits, size=labels.shape[-2:],
                                   mode='bilinear', align_corners=True)
    # max(dim=1).indices: argmax(dim=1)'s result (the first maximal class)
    # at an eighth of its CPU time over an NCHW tensor
    return (seg_logits.max(dim=1).indices == labels).to(seg_logits.dtype)


def eln_loss(eln_logits: Tensor, seg_logits: Tensor, labels: Tensor) -> Tensor:
    """ELN's BCE for one segmentation prediction.

    Args:
        eln_logits: (N, 1, h, w) ELN output (upsampled to the labels).
        seg_logits: (N, C, h', w') the prediction ELN judges (detached).
        labels: (N, H, W) ground truth.

    Returns ``mean(w * BCE)`` over all pixels with ``w = #correct/#error``
    on error pixels and 1 on correct ones. Without error pixels the factor
    is unused; without correct ones the errors weigh 0 (#correct = 0), as
    in the official code, and the loss is 0.
    """
    target = eln_target(seg_logits.detach(), labels)
    logits = eln_logits
    if logits.shape[-2:] != labels.shape[-2:]:
        logits = F.interpolate(logits, size=labels.shape[-2:],
                               mode='bilinear', align_corners=True)
    bce = F.binary_cross_entropy_with_logits(
        logits[:, 0], target, reduction='none')
    correct = target.sum()
    errors = target.numel() - correct
    factor = correct / errors if float(errors) > 0 else correct.new_ones(())
    weight = torch.where(target > 0, torch.ones_like(target), factor)
    return (bce * weight).mean()


def constrained_ce(aux_ce: Tensor, main_ce: Tensor, alpha: float) -> Tensor:
    """``aux_ce`` while it is at least ``alpha * main_ce``, else 0 (the
    official ``sub_sup_loss >= sup_loss * alpha``; the comparison is not
    differentiated)."""
    if alpha <= 0:
        raise ValueError(f'alpha must be > 0, got {alpha}')
    keep = bool(aux_ce.detach() >= alpha * main_ce.detach())
    return aux_ce if keep else aux_ce * 0.0


def accepted_cross_entropy(logits: Tensor,
                           labels: Tensor,
                           accept: Tensor,
                           valid: Optional[Tensor] = None) -> Tensor:
    """Pseudo-label CE averaged over the accepted (and valid) pixels only,
    as ELN's ``CrossEntropyLoss(ignore_index=255)`` on labels whose rejected
    pixels were set to 255 (FixMatch's :func:`masked_cross_entropy`
    divides by every valid pixel instead). 0 when nothing is accepted.

    Args:
        logits: (N, C, H, W) student logits at the labels' resolution.
        labels: (N, H, W) hard pseudo-labels.
        accept: (N, H, W) bool mask (or weights in [0, 1]).
        valid: (N, H, W) bool image pixels (not padding).
    """
    ce = F.cross_entropy(logits, labels, reduction='none')
    weight = accept.to(ce.dtype)
    if valid is not None:
        weight = weight * valid.to(ce.dtype)
    return (ce * weight).sum() / weight.sum().clamp(min=1.0)
