"""Pseudo-labels, padding masks and CutMix, shared by the methods."""
from typing import Iterable, Optional, Sequence, Tuple

import torch
from torch import Tensor


@torch.no_grad()
def pseudo_labels(probs: Tensor,
                  threshold: float = 0.0) -> Tuple[Tensor, Tensor, Tensor]:
    """Hard pseudo-labels from class probabilities.

    Args:
        probs: (N, C, H, W) softmax output of the teacher on the weak view.
        threshold: confidence needed to use a pixel (0.95 on VOC and 0 on
            Cityscapes in UniMatch).

    Returns:
        labels (N, H, W) long, confidence (N, H, W), accepted (N, H, W) bool
        (``confidence >= threshold``).
    """
    confidence, labels = probs.max(dim=1)
    return labels, confidence, confidence >= threshold


def valid_mask(data_samples: Sequence, shape: Tuple[int, int],
               device: Optional[torch.device] = None) -> Tensor:
    """(N, H, W) bool: True inside each image, False on the padding the
    data preprocessor added to reach the batch size ``shape``."""
    mask = torch.zeros((len(data_samples), *shape), dtype=torch.bool,
                       device=device)
    for i, sample in enumerate(data_samples):
        h, w = sample.metainfo.get('img_shape', shape)[:2]
        mask[i, :h, :w] = True
    return mask


def cutmix_masks(data_samples: Sequence, shape: Tuple[int, int],
                 device: Optional[torch.device] = None) -> Tensor:
    """(N, H, W) bool from the ``cutmix_box`` (x1, y1, x2, y2) each sample
    carries in its metainfo (``GenerateCutMixBox``); no box -> all False."""
    mask = torch.zeros((len(data_samples), *shape), dtype=torch.bool,
                       device=device)
    for i, sample in enumerate(data_samples):
        if 'cutmix_box' not in sample.metainfo:
            raise KeyError(
                'CutMix is enabled but a data sample has no cutmix_box: add '
                "GenerateCutMixBox to the strong pipeline and 'cutmix_box' to "
                'its PackSegInputs meta_keys (STRONG_META_KEYS)')
        box = sample.metainfo['cutmix_box']
        if box is not None:
            x1, y1, x2, y2 = box
            mask[i, y1:y2, x1:x2] = True
    return mask


def mix(tensors: Iterable[Tensor], mask: Tensor,
        partner: Tensor) -> Tuple[Tensor, ...]:
    """Paste ``t[partner]`` into ``t`` where ``mask`` is True, for each
    tensor (images (N, C, H, W) or maps (N, H, W)), identically."""
    out = []
    for t in tensors:
        m = mask if t.dim() == 3 else mask.unsqueeze(1)
        out.append(torch.where(m, t[partner], t))
    return tuple(out)


def roll_partner(n: int, device: Optional[torch.device] = None) -> Tensor:
    """Partner index for CutMix inside a batch: sample i takes its box
    content from sample (i + 1) mod n (its own content when n == 1)."""
    return torch.roll(torch.arange(n, device=device), shifts=-1)


def cutmix_batch(data_samples: Sequence,
                 tensors: Iterable[Tensor]) -> Tuple[Tensor, ...]:
    """CutMix inside a batch: each sample's ``cutmix_box`` (see
    :func:`cutmix_masks`) takes its content from the next sample
    (:func:`roll_partner`), identically for every tensor (images and their
    targets, all (N, ...) at the size of the first)."""
    tensors = tuple(tensors)
    ref = tensors[0]
    box = cutmix_masks(data_samples, ref.shape[-2:], ref.device)
    return mix(tensors, box, roll_partner(len(ref), ref.device))


def class_mix_masks(labels: Tensor,
                    generator: Optional[torch.Generator] = None) -> Tensor:
    """ClassMix masks (Olsson et al., WACV 2021; DACS's ``class`` mix mask):
    for each label map of ``labels`` (N, H, W), the pixels of a random half
    (rounded up) of the values it holds, drawn without replacement from
    ``generator`` (the global torch generator when ``None``). Every value
    present counts, the ignore index included, as in DACS's ``trainUDA.py``:
    pasted ignore pixels keep their label and are left out of the loss.
    Returns (N, H, W) bool."""
    masks = []
    for lab in labels:  # one draw per image; no loop over pixels or classes
        values = lab.unique()
        n = values.numel()
        order = torch.randperm(n, device=lab.device, generator=generator)
        chosen = values[order[:(n + 1) // 2]]
        masks.append(torch.isin(lab, chosen))
    return torch.stack(masks)
