"""One forward pass over labelled and unlabelled images together.

Semi-supervised segmentation code (UniMatch, PixelSSL, CPS) runs the student
once on the concatenation of the labelled and unlabelled views: BatchNorm
then normalises with statistics of both, and one large batch is faster than
several small ones. :func:`joint_forward` does this for any mmseg
``EncoderDecoder``: mmseg's own decode/auxiliary-head losses on the labelled
part and full-resolution logits for every other part.
"""
from typing import Callable, List, Optional, Sequence, Tuple

import torch
from mmseg.models.segmentors import EncoderDecoder
from mmseg.models.utils import resize
from mmseg.utils import add_prefix
from torch import Tensor


FeaturePerturb = Callable[[Tensor], Tensor]


def full_res_logits(segmentor: EncoderDecoder,
                    inputs: Tensor,
                    perturb: Optional[FeaturePerturb] = None) -> Tensor:
    """Logits at the input resolution (``encode_decode`` without metas);
    ``perturb`` is applied to each backbone feature level first."""
    feats = segmentor.extract_feat(inputs)
    if perturb is not None:
        feats = [perturb(f) for f in feats]
    return _resize_to(segmentor, segmentor.decode_head.forward(feats),
                      inputs)


def _resize_to(segmentor: EncoderDecoder, logits: Tensor,
               inputs: Tensor) -> Tensor:
    if logits.shape[-2:] == inputs.shape[-2:]:
        return logits
    return resize(
        logits,
        size=inputs.shape[-2:],
        mode='bilinear',
        align_corners=segmentor.decode_head.align_corners)


def _sup_losses(segmentor: EncoderDecoder, feats: Sequence[Tensor],
                sup_logits: Tensor, sup_samples) -> dict:
    losses = add_prefix(
        segmentor.decode_head.loss_by_feat(sup_logits, sup_samples),
        'decode')
    if segmentor.with_auxiliary_head:
        losses.update(
            segmentor._auxiliary_head_forward_train(feats, sup_samples))
    return losses


def joint_forward(segmentor: EncoderDecoder,
                  sup_inputs: Tensor,
                  sup_samples: list,
                  extra_inputs: Sequence[Tensor],
                  return_sup_logits: bool = False,
                  perturb: Optional[Sequence[Optional[FeaturePerturb]]] = None
                  ) -> Tuple[dict, List[Tensor]]:
    """Supervised losses + full-resolution logits of ``extra_inputs``.

    Args:
        segmentor: an mmseg ``EncoderDecoder`` (single decode head).
        sup_inputs: labelled images (N, 3, H, W).
        sup_samples: their data samples with ``gt_sem_seg``.
        extra_inputs: other batches (e.g. strong unlabelled views); each
            gets logits resized to its own input size.
        return_sup_logits: also return the labelled images' full-resolution
            logits, first in the list (GCT needs predictions on every
            image).
        perturb: one entry per ``extra_inputs`` batch: ``None`` or a
            function applied to that batch's backbone features (each level)
            before the decode head, e.g. UniMatch's feature dropout.

    Returns:
        (mmseg loss dict with ``decode.*``/``aux*.*`` keys, [logits]).

    Batches are concatenated when their spatial sizes agree; otherwise each
    runs separately.
    """
    parts = [sup_inputs, *extra_inputs]
    perturb = [None, *(perturb or [None] * len(extra_inputs))]
    if len(perturb) != len(parts):
        raise ValueError(f'joint_forward: {len(perturb) - 1} perturb entries '
                         f'for {len(extra_inputs)} extra inputs')
    first = 0 if return_sup_logits else 1
    wanted = parts[first:]
    if len({p.shape[-2:] for p in parts}) != 1:
        losses = segmentor.loss(sup_inputs, sup_samples)
        return losses, [
            full_res_logits(segmentor, x, fn)
            for x, fn in zip(wanted, perturb[first:])
        ]
    sizes = [p.shape[0] for p in parts]
    feats = segmentor.extract_feat(torch.cat(parts))
    sup_feats = tuple(f[:sizes[0]] for f in feats)
    if any(fn is not None for fn in perturb):
        feats = [
            torch.cat([
                fn(chunk) if fn is not None else chunk
                for chunk, fn in zip(f.split(sizes), perturb)
            ]) for f in feats
        ]
    logits = segmentor.decode_head.forward(feats).split(sizes)
    losses = _sup_losses(segmentor, sup_feats, logits[0], sup_samples)
    logits = logits[first:]
    return losses, [_resize_to(segmentor, lg, x)
                    for lg, x in zip(logits, wanted)]
