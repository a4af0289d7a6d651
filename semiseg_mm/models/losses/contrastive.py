"""Pixel contrastive losses and their shared core.

The core is what every pixel contrastive loss computes: L2-normalised
features and their pairwise cosine similarities over a temperature
(:func:`similarity_logits`), and which pairs share a class
(:func:`same_class_mask`, or per-class one-hot sums where the loss only
needs each anchor's sums over the keys of each class).
Ignored pixels (label < 0 or the ignore index) take part in no pair. The
losses differ in how they aggregate the pairs:

- :func:`class_contrastive_loss`, ELN's (Kwon & Kwak, CVPR 2022; official
  ``utils/losses.py``): per class c of the anchors, one ratio over all the
  class's pairs, ``-log(S_pos / (S_pos + S_neg)) / n_c`` with ``S_pos`` the
  sum of ``exp(cos / tau)`` over every (anchor of c, key of c) pair and
  ``S_neg`` over every (anchor of c, key of another class) pair, averaged
  over the classes present;
- :func:`cropped_class_contrastive_loss`, ELN's memory bound: the loss on
  random crops of the feature maps (the official code: 8 crops of 32 x 32 of
  the 1/4-resolution map, the same window for every image of the batch),
  averaged over the crops.

Everything is vectorised over pixels and classes (one similarity matrix,
one-hot products per class); the only loop is over distinct crop windows.
"""
from collections import Counter
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def similarity_logits(anchors: Tensor, keys: Tensor,
                      tau: float) -> Tensor:
    """``cos(anchor_i, key_j) / tau`` for (n, d) anchors and (m, d) keys,
    shape (n, m) (or batched: (B, n, d) and (B, m, d) give (B, n, m));
    features are L2-normalised (eps 1e-8), so the result does not depend on
    their scale."""
    if tau <= 0:
        raise ValueError(f'temperature tau must be > 0, got {tau}')
    a = anchors / anchors.norm(dim=-1, keepdim=True).clamp(min=1e-8)
    k = keys / keys.norm(dim=-1, keepdim=True).clamp(min=1e-8)
    return a @ k.transpose(-1, -2) / tau


def same_class_mask(anchor_labels: Tensor,
                    key_labels: Tensor) -> Tuple[Tensor, Tensor]:
    """``(positive, negative)`` (n, m) bool masks of anchor-key pairs with
    the same and with different classes (batched: (B, n) and (B, m) labels
    give (B, n, m)); pairs with an ignored pixel (label < 0) are in
    neither."""
    valid = (anchor_labels >= 0)[..., :, None] & (key_labels >= 0)[...,
                                                                  None, :]
    same = anchor_labels[..., :, None] == key_labels[..., None, :]
    return same & valid, ~same & valid


def _ignore_to_negative(labels: Tensor, ignore_index: int) -> Tensor:
    labels = labels.long()
    return torch.where(labels == ignore_index, labels.new_tensor(-1), labels)


def class_contrastive_loss(anchors: Tensor,
                           keys: Tensor,
                           labels: Tensor,
                           tau: float = 0.5,
                           key_labels: Optional[Tensor] = None,
                           ignore_index: int = 255) -> Tensor:
    """ELN's per-class pixel contrastive loss.

    Args:
        anchors: (n, d) features whose gradients train (the student's
            projections).
        keys: (m, d) features they are contrasted with (the teacher's,
            detached by the caller).
        labels: (n,) the anchors' classes (pseudo-labels); ``ignore_index``
            or negative values take no part.
        key_labels: (m,) the keys' classes (default ``labels``: keys and
            anchors at the same pixels, as in ELN).
        tau: temperature (ELN: 0.5).

    Returns the mean over the anchor classes present of
    ``-log(S_pos / (S_pos + S_neg)) / n_c``; 0 (with a gradient path) when
    no pixel is labelled.
    """
    labels = _ignore_to_negative(labels, ignore_index)
    key_labels = labels if key_labels is None else _ignore_to_negative(
        key_labels, ignore_index)
    valid_a, valid_k = labels >= 0, key_labels >= 0
    if not bool(valid_a.any()) or not bool(valid_k.any()):
        return anchors.sum() * 0.0
    logits = similarity_logits(anchors, keys, tau)
    # a common shift cancels in the ratio: keeps exp() in range for small tau
    e = (logits - logits.detach().max()).exp()
    # per anchor, the sum of e over the keys of each class: one (n, m) x
    # (m, C) product instead of (n, m) positive / negative masks (the same
    # sums, half the time of the masked form at n = m = 512 or 2048)
    num_classes = int(torch.maximum(labels.max(), key_labels.max())) + 1

    def onehot(lab: Tensor, valid: Tensor) -> Tensor:  # ignored: all 0
        return F.one_hot(lab.clamp(min=0), num_classes).to(
            e.dtype) * valid[:, None]

    per_class_keys = e @ onehot(key_labels, valid_k)
    anchor_onehot = onehot(labels, valid_a)
    row_pos = (per_class_keys * anchor_onehot).sum(dim=1)
    row_neg = (per_class_keys *
               (valid_a[:, None].to(e.dtype) - anchor_onehot)).sum(dim=1)
    # per anchor class: S_pos, S_neg and the anchor count
    s_pos = anchor_onehot.t() @ row_pos
    s_neg = anchor_onehot.t() @ row_neg
    count = anchor_onehot.sum(dim=0)
    present = (count > 0) & (s_pos > 0)
    if not bool(present.any()):  # no anchor has a same-class key
        return anchors.sum() * 0.0
    per_class = -torch.log(s_pos[present] /
                           (s_pos[present] + s_neg[present])) / count[present]
    return per_class.mean()


def random_crop_windows(height: int, width: int, size: int, count: int,
                        generator: Optional[torch.Generator] = None
                        ) -> Tensor:
    """(count, 4) ``(top, left, h, w)`` windows of at most ``size`` x
    ``size`` inside a ``height`` x ``width`` map (the whole side when it is
    smaller)."""
    h, w = min(size, height), min(size, width)
    top = torch.randint(0, height - h + 1, (count, ), generator=generator)
    left = torch.randint(0, width - w + 1, (count, ), generator=generator)
    return torch.stack([top, left, torch.full_like(top, h),
                        torch.full_like(top, w)], dim=1)


def cropped_class_contrastive_loss(student: Tensor,
                                   teacher: Tensor,
                                   labels: Tensor,
                                   tau: float = 0.5,
                                   crop_size: int = 32,
                                   num_crops: int = 8,
                                   ignore_index: int = 255,
                                   generator: Optional[torch.Generator] = None
                                   ) -> Tensor:
    """:func:`class_contrastive_loss` on random crops of feature maps.

    Args:
        student: (N, D, h, w) anchor features (the student's projections).
        teacher: (N, D, h, w) key features (detached here).
        labels: (N, H, W) pseudo-labels with ``ignore_index`` on rejected
            pixels; resized to (h, w) by nearest neighbour when they differ.
        crop_size, num_crops: each crop is the same window of every image
            of the batch (ELN: 8 crops of 32 x 32); the loss is the mean
            over the crops (a crop without labelled pixels counts 0, as in
            the official code). Memory is bounded by
            ``(N * crop_size**2)**2`` whatever the image size.
    """
    if student.shape != teacher.shape:
        raise ValueError(f'student {tuple(student.shape)} and teacher '
                         f'{tuple(teacher.shape)} features differ in shape')
    n, d, h, w = student.shape
    if labels.shape[-2:] != (h, w):
        labels = F.interpolate(labels[:, None].float(), size=(h, w),
                               mode='nearest')[:, 0].long()
    teacher = teacher.detach()
    windows = random_crop_windows(h, w, crop_size, num_crops, generator)
    # a window drawn k times is computed once and counted k times (the same
    # value and gradient): on a map no larger than the crop every window is
    # the whole map, and the loss costs one crop's time and memory, not
    # num_crops'
    counts = Counter(map(tuple, windows.tolist()))
    total = student.sum() * 0.0
    for (top, left, ch, cw), k in counts.items():
        def flat(x: Tensor) -> Tensor:
            x = x[..., top:top + ch, left:left + cw]
            return x.permute(0, 2, 3, 1).reshape(-1, d)

        lab = labels[:, top:top + ch, left:left + cw].reshape(-1)
        total = total + k * class_contrastive_loss(
            flat(student), flat(teacher), lab, tau, ignore_index=ignore_index)
    return total / num_crops
