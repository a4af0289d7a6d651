"""Label-based pixel contrastive loss (Zhao et al., "Contrastive Learning
for Label-Efficient Semantic Segmentation", ICCV 2021; official TensorFlow
code google-research ``supervised_pixel_contrastive_loss/
contrastive_loss.py``), in PyTorch.

Pixels are grouped in *bags*; inside a bag, for an anchor pixel ``p`` with
label ``y_p``, its positives ``P(p)`` (same label, ``p`` itself included, as
in the official code) and its negatives ``N(p)`` (another label)::

    L_p = -1/|P(p)| sum_{q in P(p)} log( e^{s_pq} / (e^{s_pq}
                                          + sum_{n in N(p)} e^{s_pn}) )

with ``s = cos(f_p, f_q) / tau`` (the shared core,
:func:`~semiseg_mm.models.losses.contrastive.similarity_logits` and
:func:`~semiseg_mm.models.losses.contrastive.same_class_mask`). A bag's loss
is the mean over its anchors with a positive, the loss the mean over bags.
Ignored pixels take part in no pair. The variants differ in their bags
(:data:`BAGS`):

- ``within_image``: each image of each view is a bag; the original and the
  distorted view's losses are summed (official ``within_image_loss=True``);
- ``cross_image`` (the paper's best): bag ``n`` is image ``n`` of the
  original view with the distorted view of a randomly shuffled image of the
  batch (official ``tf.random.shuffle``: the image itself may be drawn);
  positives come from both halves, negatives only from the anchor's own
  half (the paper: cross-image negatives hurt);
- ``batch``: every pixel of both views of the mini-batch in one bag
  (reported to do worse).

Cost: a bag of ``P`` pixels is a ``P x P`` similarity matrix, so a pixel
budget bounds it: ``max_pixels`` pixels over the batch (both views), drawn
uniformly among each image's non-ignored pixels, an equal number per image
and view, whatever the image size (the official code resizes the features
instead). Anchors are processed in row chunks of at most ``max_pairs``
pairs with activation checkpointing, so even the one-bag ``batch`` variant
keeps its memory bounded. Everything else is vectorised: no Python loop over
pixels, classes or images.
"""
from typing import Callable, Dict, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from semiseg_mm.registry import MODELS
from .contrastive import same_class_mask, similarity_logits


def sample_pixels(feats: Tensor, labels: Tensor, num: int,
                  ignore_index: int = 255,
                  generator: Optional[torch.Generator] = None
                  ) -> Tuple[Tensor, Tensor]:
    """``num`` pixels of each image, uniformly among its labelled ones.

    Args:
        feats: (N, D, h, w) features.
        labels: (N, H, W) masks; resized to (h, w) by nearest neighbour
            when they differ. ``ignore_index`` and negative values are
            ignored.
        num: pixels per image (all of them when it has fewer: an image with
            ``m < num`` labelled pixels gives ``m`` labelled ones and
            ``num - m`` ignored ones, labelled -1).

    Returns ``(N, num, D)`` features and ``(N, num)`` labels (-1: ignored).
    """
    n, d, h, w = feats.shape
    if labels.shape[-2:] != (h, w):
        labels = F.interpolate(labels[:, None].float(), size=(h, w),
                               mode='nearest')[:, 0]
    labels = labels.long().reshape(n, h * w)
    labels = torch.where((labels == ignore_index) | (labels < 0),
                         labels.new_tensor(-1), labels)
    num = min(int(num), h * w)
    # a random key per pixel, ignored pixels last: top-k per image is a
    # uniform draw of its labelled pixels
    keys = torch.rand(n, h * w, generator=generator,
                      device='cpu').to(feats.device)
    keys = torch.where(labels >= 0, keys, keys - 2.0)
    index = keys.topk(num, dim=1).indices
    flat = feats.reshape(n, d, h * w).transpose(1, 2)
    picked = flat.gather(1, index[..., None].expand(-1, -1, d))
    return picked, labels.gather(1, index)


def _anchor_losses(anchors: Tensor, anchor_labels: Tensor,
                   anchor_groups: Tensor, feats: Tensor, labels: Tensor,
                   groups: Tensor, tau: float) -> Tensor:
    """(B, r) per-anchor losses of ``r`` anchors against their bag's
    ``P`` pixels; 0 for anchors without a positive."""
    logits = similarity_logits(anchors, feats, tau)  # (B, r, P)
    pos, neg = same_class_mask(anchor_labels, labels)
    neg = neg & (anchor_groups[:, :, None] == groups[:, None, :])
    # -log(e_pq / (e_pq + S_p)) = log(e'_pq + S'_p) - (s_pq - m_p), with
    # e' = exp(s - m_p) and S'_p the negatives' sum of e': in range for
    # small tau (|s| <= 1 / tau)
    shifted = logits - logits.detach().amax(dim=2, keepdim=True)
    e = shifted.exp()
    s_neg = (e * neg).sum(dim=2, keepdim=True)
    nll = torch.log(e + s_neg) - shifted
    n_pos = pos.sum(dim=2)
    return (nll * pos).sum(dim=2) / n_pos.clamp(min=1)


def bag_losses(feats: Tensor, labels: Tensor, groups: Tensor, tau: float,
               max_pairs: int = 2**22) -> Tensor:
    """(B, ) losses of ``B`` bags of ``P`` pixels each.

    Args:
        feats: (B, P, D) pixel features (any scale: L2-normalised here).
        labels: (B, P) classes, -1 for ignored pixels.
        groups: (B, P) integers; a negative pair needs equal groups (the
            cross-image rule: negatives from the anchor's own image only).
            All zeros: negatives from the whole bag.
        max_pairs: anchors are processed in chunks of at most this many
            (anchor, pixel) pairs per bag, with activation checkpointing
            when there is more than one chunk (memory bounded by the chunk,
            the backward pass recomputes it).
    """
    b, p, _ = feats.shape
    rows = max(1, min(p, int(max_pairs) // max(p, 1)))
    chunked = rows < p
    per_anchor = []
    for start in range(0, p, rows):
        sl = slice(start, start + rows)
        args = (feats[:, sl], labels[:, sl], groups[:, sl], feats, labels,
                groups, tau)
        if chunked and torch.is_grad_enabled() and feats.requires_grad:
            per_anchor.append(
                checkpoint(_anchor_losses, *args, use_reentrant=False))
        else:
            per_anchor.append(_anchor_losses(*args))
    loss = torch.cat(per_anchor, dim=1)  # (B, P)
    # anchors with a positive: every labelled pixel (it is its own)
    has = (labels >= 0).to(loss.dtype)
    return (loss * has).sum(dim=1) / has.sum(dim=1).clamp(min=1)


# --------------------------------------------------------------------- #
# the variants: how pixels of the two views are grouped into bags
# --------------------------------------------------------------------- #
Views = Tuple[Tensor, Tensor, Optional[Tensor], Optional[Tensor]]


def _within_image(fa, la, fb, lb, tau, max_pairs, generator) -> Tensor:
    zeros = torch.zeros_like(la)
    loss = bag_losses(fa, la, zeros, tau, max_pairs).mean()
    if fb is not None:
        loss = loss + bag_losses(fb, lb, zeros, tau, max_pairs).mean()
    return loss


def _cross_image(fa, la, fb, lb, tau, max_pairs, generator) -> Tensor:
    if fb is None:
        raise ValueError('cross_image pixel contrast needs two views (the '
                         'image and its distorted copy)')
    n, k = la.shape
    order = torch.randperm(n, generator=generator).to(la.device)
    feats = torch.cat([fa, fb[order]], dim=1)
    labels = torch.cat([la, lb[order]], dim=1)
    groups = torch.cat([torch.zeros_like(la), torch.ones_like(lb)], dim=1)
    return bag_losses(feats, labels, groups, tau, max_pairs).mean()


def _batch(fa, la, fb, lb, tau, max_pairs, generator) -> Tensor:
    d = fa.shape[-1]
    feats, labels = fa.reshape(1, -1, d), la.reshape(1, -1)
    if fb is not None:
        feats = torch.cat([feats, fb.reshape(1, -1, d)], dim=1)
        labels = torch.cat([labels, lb.reshape(1, -1)], dim=1)
    return bag_losses(feats, labels, torch.zeros_like(labels), tau,
                      max_pairs).mean()


#: variant name -> the function that bags the sampled pixels and averages
#: the bag losses; a user adds a variant by adding an entry
BAGS: Dict[str, Callable[..., Tensor]] = {
    'within_image': _within_image,
    'cross_image': _cross_image,
    'batch': _batch,
}


@MODELS.register_module()
class PixelContrastiveLoss(nn.Module):
    """The label-based pixel contrastive loss of Zhao et al. (ICCV 2021).

    Args:
        variant: ``'cross_image'`` (default, the paper's best),
            ``'within_image'`` or ``'batch'`` (module docstring).
        tau: temperature (paper: 0.07).
        max_pixels: pixel budget over the batch and both views (an equal
            share per image and view); bounds the loss's memory and time
            whatever the image size.
        max_pairs: anchor chunk size in (anchor, pixel) pairs per bag.
        ignore_index: mask value taking part in no pair.
        loss_weight: factor of the loss.
    """

    def __init__(self,
                 variant: str = 'cross_image',
                 tau: float = 0.07,
                 max_pixels: int = 10000,
                 max_pairs: int = 2**22,
                 ignore_index: int = 255,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if variant not in BAGS:
            raise ValueError(f'PixelContrastiveLoss: unknown variant '
                             f'{variant!r}; known: {sorted(BAGS)}')
        if tau <= 0 or max_pixels < 2 or max_pairs < 1:
            raise ValueError(
                'PixelContrastiveLoss: tau must be > 0, max_pixels >= 2 and '
                f'max_pairs >= 1, got {tau}, {max_pixels}, {max_pairs}')
        self.variant = variant
        self.tau = float(tau)
        self.max_pixels = int(max_pixels)
        self.max_pairs = int(max_pairs)
        self.ignore_index = ignore_index
        self.loss_weight = float(loss_weight)

    def pixels_per_image(self, num_images: int, num_views: int) -> int:
        """The budget's share of one image of one view."""
        return max(1, self.max_pixels // (num_images * num_views))

    def forward(self,
                feats: Tensor,
                labels: Tensor,
                feats_aug: Optional[Tensor] = None,
                labels_aug: Optional[Tensor] = None,
                generator: Optional[torch.Generator] = None) -> Tensor:
        """Args:
            feats, labels: (N, D, h, w) features (projections) of the
                images and their (N, H, W) masks.
            feats_aug, labels_aug: the same for their distorted copies
                (image ``n`` of both is the same picture); required by
                ``cross_image``.
            generator: drives the pixel draw and the cross-image shuffle.
        """
        if (feats_aug is None) != (labels_aug is None):
            raise ValueError('PixelContrastiveLoss: give both feats_aug and '
                             'labels_aug, or neither')
        views = 1 if feats_aug is None else 2
        if views == 2 and feats_aug.shape[:2] != feats.shape[:2]:
            raise ValueError(
                f'PixelContrastiveLoss: the views differ in images or '
                f'channels: {tuple(feats.shape)} vs {tuple(feats_aug.shape)}')
        k = self.pixels_per_image(feats.shape[0], views)
        fa, la = sample_pixels(feats, labels, k, self.ignore_index,
                               generator)
        fb = lb = None
        if views == 2:
            fb, lb = sample_pixels(feats_aug, labels_aug, k,
                                   self.ignore_index, generator)
        loss = BAGS[self.variant](fa, la, fb, lb, self.tau, self.max_pairs,
                                  generator)
        return self.loss_weight * loss
