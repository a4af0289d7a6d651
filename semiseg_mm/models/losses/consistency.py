"""Consistency and pseudo-label losses (masked, pixel-wise)."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor


def _pixel_mean(per_pixel: Tensor, mask: Optional[Tensor]) -> Tensor:
    """Mean of an (N, H, W) map over the pixels where ``mask`` is True."""
    if mask is None:
        return per_pixel.mean()
    mask = mask.to(per_pixel.dtype)
    return (per_pixel * mask).sum() / mask.sum().clamp(min=1.0)


def softmax_mse_loss(student_logits: Tensor,
                     teacher_probs: Tensor,
                     mask: Optional[Tensor] = None) -> Tensor:
    """Mean squared error between softmax(student) and teacher probabilities
    (Mean Teacher; PixelSSL's ``nn.MSELoss`` on softmax outputs): the mean
    over classes and the masked pixels. The teacher side gets no gradient.
    """
    diff = (student_logits.softmax(dim=1) - teacher_probs.detach())**2
    return _pixel_mean(diff.mean(dim=1), mask)


def softmax_kl_loss(student_logits: Tensor,
                    teacher_probs: Tensor,
                    mask: Optional[Tensor] = None) -> Tensor:
    """KL(teacher || student) per pixel (summed over classes), averaged over
    the masked pixels; the alternative consistency of Mean Teacher."""
    teacher = teacher_probs.detach()
    kl = teacher * (torch.log(teacher.clamp(min=1e-8)) -
                    F.log_softmax(student_logits, dim=1))
    return _pixel_mean(kl.sum(dim=1), mask)


def masked_cross_entropy(logits: Tensor,
                         labels: Tensor,
                         accept: Tensor,
                         valid: Optional[Tensor] = None) -> Tensor:
    """Cross-entropy on accepted pixels, normalised by all valid pixels.

    UniMatch/FixMatch: ``(ce * (conf >= thr) * valid).sum() / valid.sum()``,
    so rejecting more pixels lowers the loss instead of re-weighting the
    accepted ones.
    """
    ce = F.cross_entropy(logits, labels, reduction='none')
    weight = accept.to(ce.dtype)
    if valid is not None:
        weight = weight * valid.to(ce.dtype)
        denom = valid.to(ce.dtype).sum().clamp(min=1.0)
    else:
        denom = torch.tensor(float(ce.numel()), device=ce.device)
    return (ce * weight).sum() / denom


CONSISTENCY_LOSSES = dict(mse=softmax_mse_loss, kl=softmax_kl_loss)
