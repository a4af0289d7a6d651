"""One forward pass over labelled and unlabelled images together.

Semi-supervised segmentation code (UniMatch, PixelSSL, CPS) runs the student
once on the concatenation of the labelled and unlabelled views: BatchNorm
then normalises with statistics of both, and one large batch is faster than
several small ones. :func:`joint_forward` does this for any mmseg
``EncoderDecoder``: mmseg's own decode/auxiliary-head losses on the labelled
part and full-resolution logits for every other part.
"""
from functools import partial
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmseg.models.segmentors import EncoderDecoder
from mmseg.models.utils import resize
from mmseg.utils import add_prefix
from torch import Tensor

from .checkpoint import checkpointed

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
               inputs: Tensor, head=None) -> Tensor:
    if logits.shape[-2:] == inputs.shape[-2:]:
        return logits
    head = segmentor.decode_head if head is None else head
    return resize(
        logits,
        size=inputs.shape[-2:],
        mode='bilinear',
        align_corners=head.align_corners)


def output_heads(segmentor: EncoderDecoder) -> Dict[str, nn.Module]:
    """The segmentor's output levels by name: ``decode`` (the decode head)
    and its auxiliary heads, named as mmseg names their losses (``aux`` for
    one, ``aux_0``, ``aux_1``, ... for a list)."""
    heads = {'decode': segmentor.decode_head}
    if getattr(segmentor, 'with_auxiliary_head', False):
        aux = segmentor.auxiliary_head
        if isinstance(aux, nn.ModuleList):
            heads.update({f'aux_{i}': h for i, h in enumerate(aux)})
        else:
            heads['aux'] = aux
    return heads


def decoder_features(head: nn.Module, feats: Sequence[Tensor]) -> Tensor:
    """The features a decode head classifies (before its final
    ``cls_seg``), for heads that split ``forward`` into
    ``_forward_feature`` + ``cls_seg`` as mmseg's ASPP, FCN, PSP, UPer and
    our DeepLabv2 heads do."""
    fn = getattr(head, '_forward_feature', None)
    if fn is None:
        raise TypeError(
            f'{type(head).__name__} does not expose its decoder features '
            '(no _forward_feature); request them from a head that does '
            '(ASPPHead, FCNHead, PSPHead, UPerHead, DeepLabV2Head) or add '
            'one to it')
    return fn(feats)


class PartOutputs(NamedTuple):
    """What :func:`forward_parts` returns; every list has one entry per
    input part."""
    #: supervised losses of part 0 (``decode.*``, ``aux*.*``); empty
    #: without labels
    losses: dict
    #: level name (``decode``, ``aux``, ...) -> logits per part, each at
    #: its part's input resolution
    logits: Dict[str, List[Tensor]]
    #: backbone (+ neck) features per part, if asked for
    feats: Optional[List[Tuple[Tensor, ...]]] = None
    #: the decode head's features per part, if asked for
    decoder_feats: Optional[List[Tensor]] = None


def forward_parts(segmentor: EncoderDecoder,
                  parts: Sequence[Tensor],
                  sup_samples: Optional[list] = None,
                  *,
                  levels: Sequence[str] = ('decode', ),
                  perturb: Optional[Sequence[Optional[FeaturePerturb]]] = None,
                  with_feats: bool = False,
                  with_decoder_feats: bool = False,
                  concat: bool = True) -> PartOutputs:
    """Run a segmentor over several batch parts; logits of any output level.

    Args:
        segmentor: an mmseg ``EncoderDecoder``.
        parts: image batches (N_i, 3, H_i, W_i); with ``sup_samples`` the
            first part is labelled.
        sup_samples: the first part's data samples with ``gt_sem_seg``:
            the decode head's (and every auxiliary head's) mmseg losses on
            it are returned.
        levels: the output levels whose logits are returned (names of
            :func:`output_heads`; ``'all'`` for every one).
        perturb: one entry per part, ``None`` or a function applied to that
            part's features (each level) before the heads, e.g. UniMatch's
            feature dropout (labelled parts must not be perturbed).
        with_feats: also return the (unperturbed) backbone/neck features.
        with_decoder_feats: also return the decode head's features (e.g.
            for a projector or contrastive loss; see
            :func:`decoder_features`).
        concat: run parts of the same spatial size as one batch (BatchNorm
            then normalises over all of them, as semi-supervised code
            does); ``False`` runs each part on its own (domain-adaptation
            code keeps source and target batches apart).

    Parts whose sizes differ always run separately.
    """
    heads = output_heads(segmentor)
    levels = tuple(heads) if levels == 'all' else tuple(levels)
    unknown = [lv for lv in levels if lv not in heads]
    if unknown:
        raise ValueError(f'forward_parts: unknown output level(s) {unknown}; '
                         f'this segmentor has {tuple(heads)}')
    perturb = list(perturb) if perturb is not None else [None] * len(parts)
    if len(perturb) != len(parts):
        raise ValueError(f'forward_parts: {len(perturb)} perturb entries for '
                         f'{len(parts)} parts')
    if sup_samples is not None and perturb[0] is not None:
        raise ValueError('forward_parts: the labelled part (0) must not be '
                         'perturbed')
    sizes = [p.shape[0] for p in parts]
    # a segmentor with ``decode_with_cp`` (ProjectedEncoderDecoder) keeps
    # only the decode head's inputs while training and runs it again in the
    # backward pass
    decode_cp = bool(getattr(segmentor, 'decode_with_cp', False)
                     and segmentor.training)
    if concat and len({p.shape[-2:] for p in parts}) == 1:
        groups = [list(range(len(parts)))]
    else:
        groups = [[i] for i in range(len(parts))]
    logits: Dict[str, List[Optional[Tensor]]] = {
        lv: [None] * len(parts) for lv in levels}
    feats_out: List[Optional[Tuple[Tensor, ...]]] = [None] * len(parts)
    dec_out: List[Optional[Tensor]] = [None] * len(parts)
    losses: dict = {}
    for group in groups:
        gsizes = [sizes[i] for i in group]
        x = parts[group[0]] if len(group) == 1 else torch.cat(
            [parts[i] for i in group])
        feats = segmentor.extract_feat(x)
        chunks = [tuple(f.split(gsizes)) for f in feats]  # level -> parts
        if with_feats:
            for j, i in enumerate(group):
                feats_out[i] = tuple(c[j] for c in chunks)
        if any(perturb[i] is not None for i in group):
            feats = [
                torch.cat([
                    perturb[i](c[j]) if perturb[i] is not None else c[j]
                    for j, i in enumerate(group)
                ]) for c in chunks
            ]
        has_sup = sup_samples is not None and group[0] == 0
        # decode head: logits of every part (it is the prediction) and, when
        # asked, its features
        head = heads['decode']
        if with_decoder_feats:
            dec = (checkpointed(head, partial(decoder_features, head), feats)
                   if decode_cp else decoder_features(head, feats))
            for j, i in enumerate(group):
                dec_out[i] = dec.split(gsizes)[j]
            dec_logits = head.cls_seg(dec).split(gsizes)
        elif has_sup or 'decode' in levels:
            dec_logits = (checkpointed(head, head.forward, feats) if decode_cp
                          else head.forward(feats)).split(gsizes)
        if has_sup:
            losses.update(add_prefix(
                heads['decode'].loss_by_feat(dec_logits[0], sup_samples),
                'decode'))
        if 'decode' in levels:
            for j, i in enumerate(group):
                logits['decode'][i] = dec_logits[j]
        for name, head in heads.items():
            if name == 'decode':
                continue
            if name in levels:
                out = head.forward(feats).split(gsizes)
                for j, i in enumerate(group):
                    logits[name][i] = out[j]
                sup_out = out[0] if has_sup else None
            elif has_sup:  # only the labelled part's loss is needed
                sup_out = head.forward(tuple(c[0] for c in chunks))
            else:
                continue
            if has_sup:
                losses.update(add_prefix(
                    head.loss_by_feat(sup_out, sup_samples), name))
    full = {
        lv: [_resize_to(segmentor, lg, x, heads[lv])
             for lg, x in zip(out, parts)]
        for lv, out in logits.items()
    }
    return PartOutputs(losses, full, feats_out if with_feats else None,
                       dec_out if with_decoder_feats else None)


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
    runs separately. (:func:`forward_parts` with the decode level.)
    """
    if perturb is not None and len(perturb) != len(extra_inputs):
        raise ValueError(f'joint_forward: {len(perturb)} perturb entries '
                         f'for {len(extra_inputs)} extra inputs')
    out = forward_parts(
        segmentor, [sup_inputs, *extra_inputs],
        sup_samples,
        perturb=[None, *(perturb or [None] * len(extra_inputs))])
    logits = out.logits['decode']
    return out.losses, logits if return_sup_logits else logits[1:]
