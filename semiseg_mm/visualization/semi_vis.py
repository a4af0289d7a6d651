"""Side-by-side panels of what a semi-supervised method sees and decides.

A segmentor records tensors with ``record_vis(**tensors)`` in iterations
where :class:`SemiVisualizationHook` asked for them; :func:`render_panels`
turns them into one image per sample, a row of panels, by kind:

* ``image`` (N, 3, H, W) normalised input -> the picture,
* ``*_probs`` (N, C, H, W) probabilities -> arg-max labels (palette) and a
  confidence heat map,
* ``*_logits`` (N, C, H, W) -> arg-max labels (palette),
* (N, H, W) integer maps -> labels (palette, ignore index black),
* (N, H, W) bool maps -> white/black masks (e.g. accepted pixels),
* (N, H, W) or (N, 1, H, W) float maps -> heat maps in [0, 1] (confidence,
  flaw maps, errors); NaN marks "no value" (e.g. an error map of an
  unlabelled image) and is drawn grey,
* ``*verdict`` (N, H, W) maps of :func:`verdict_map` -> the filter's
  decision against the mask, in the :data:`VERDICTS` colours, with a legend
  under the grid.

:func:`probe_panels` assembles the panels of unlabelled images whose masks
are known (the health hook's probe): which pseudo-labels the filter
accepted, and which of those it rejected were really wrong.

Rows of several samples are stacked into one grid image.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
from torch import Tensor

PANEL_MIN_SIZE = 128
NO_DATA_GREY = 128

#: :func:`verdict_map` codes: (name, RGB colour); pixels without a mask
#: (the ignore index) are drawn black
VERDICTS = (
    ('accepted, right', (40, 170, 60)),
    ('accepted, WRONG', (230, 30, 30)),
    ('rejected, wrong (caught)', (250, 200, 0)),
    ('rejected, right (lost)', (60, 110, 230)),
)
VERDICT_NONE = 255


def verdict_map(labels: Tensor, accept: Tensor, gt: Tensor,
                ignore_index: int = 255) -> Tensor:
    """(N, H, W) uint8 codes of what the filter did with each pseudo-label,
    judged against the mask ``gt``: 0 accepted and right, 1 accepted and
    wrong, 2 rejected and wrong (a wrong pseudo-label the filter caught),
    3 rejected and right (a good one it threw away); :data:`VERDICT_NONE`
    where the mask is ``ignore_index``. Soft weights count as accepted at
    >= 0.5."""
    if labels.shape != gt.shape or accept.shape != gt.shape:
        raise ValueError('verdict_map: labels, accept and gt must have one '
                         f'shape, got {tuple(labels.shape)}, '
                         f'{tuple(accept.shape)}, {tuple(gt.shape)}')
    acc = accept if accept.dtype == torch.bool else accept >= 0.5
    wrong = labels != gt
    code = torch.where(acc, wrong.to(torch.uint8),
                       3 - wrong.to(torch.uint8))
    return torch.where(gt == ignore_index,
                       torch.full_like(code, VERDICT_NONE), code)


def _verdict(code: Tensor) -> np.ndarray:
    c = code.long().numpy()
    out = np.zeros(c.shape + (3, ), np.uint8)
    for k, (_, colour) in enumerate(VERDICTS):
        out[c == k] = colour
    return out


def verdict_legend(width: int) -> np.ndarray:
    """A white strip naming the :data:`VERDICTS` colours."""
    bar = np.full((18, max(width, 1), 3), 255, np.uint8)
    x = 4
    for name, colour in VERDICTS:
        cv2.rectangle(bar, (x, 4), (x + 10, 14), colour, -1)
        cv2.putText(bar, name, (x + 14, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.36,
                    (0, 0, 0), 1, cv2.LINE_AA)
        x += 24 + 7 * len(name)
    return bar


def probe_panels(details: Dict[str, Tensor], images: Tensor, gt: Tensor,
                 ignore_index: int = 255,
                 score_name: str = 'filter score') -> Dict[str, Tensor]:
    """The panels of probe images (unlabelled images whose masks are
    known), from a segmentor's ``probe_details``: the image, its mask, the
    teacher's pseudo-labels and confidence, the filter's own score (where it
    has one, titled ``score_name``), the pseudo-labels it accepted (rejected
    pixels black) and the verdict against the mask (:func:`verdict_map`)."""
    labels, accept = details['labels'], details['accept']
    acc = accept if accept.dtype == torch.bool else accept >= 0.5
    panels = dict(image=images, ground_truth=gt,
                  teacher_probs=details['probs'])
    if 'score' in details:
        panels[score_name] = details['score']
    panels['accepted_labels'] = torch.where(
        acc, labels, torch.full_like(labels, ignore_index))
    panels['verdict'] = verdict_map(labels, accept, gt, ignore_index)
    return panels


def _to_uint8_image(img: Tensor, mean: Sequence[float],
                    std: Sequence[float]) -> np.ndarray:
    """(3, H, W) normalised RGB tensor -> (H, W, 3) uint8 RGB."""
    mean_t = torch.tensor(mean, dtype=img.dtype).view(3, 1, 1)
    std_t = torch.tensor(std, dtype=img.dtype).view(3, 1, 1)
    x = (img * std_t + mean_t).clamp(0, 255)
    return x.permute(1, 2, 0).byte().numpy()


def _labels(label: Tensor, palette: np.ndarray) -> np.ndarray:
    lab = label.long().numpy()
    out = np.zeros(lab.shape + (3, ), np.uint8)
    ok = (lab >= 0) & (lab < len(palette))
    out[ok] = palette[lab[ok]]
    return out


def _heat(values: Tensor) -> np.ndarray:
    values = values.float()
    missing = torch.isnan(values).numpy()
    v = (values.nan_to_num(0.0).clamp(0, 1).numpy() * 255).astype(np.uint8)
    out = cv2.cvtColor(cv2.applyColorMap(v, cv2.COLORMAP_JET),
                       cv2.COLOR_BGR2RGB)
    out[missing] = NO_DATA_GREY
    return out


def _mask(mask: Tensor) -> np.ndarray:
    m = mask.bool().numpy().astype(np.uint8) * 255
    return np.repeat(m[..., None], 3, axis=2)


def panels_for(name: str, value: Tensor, index: int, palette: np.ndarray,
               mean: Sequence[float],
               std: Sequence[float]) -> List[Tuple[str, np.ndarray]]:
    """The (title, RGB image) panels of one recorded tensor for sample
    ``index``."""
    v = value[index]
    if v.dim() == 3 and v.shape[0] == 1:
        v = v[0]
    if name == 'image':
        return [('image', _to_uint8_image(v, mean, std))]
    if name.endswith('verdict'):
        return [(name, _verdict(v))]
    if v.dim() == 3 and name.endswith('probs'):
        conf, lab = v.max(dim=0)
        base = name[:-len('probs')].rstrip('_') or 'probs'
        return [(f'{base} argmax', _labels(lab, palette)),
                (f'{base} confidence', _heat(conf))]
    if v.dim() == 3:  # logits
        return [(name.replace('_logits', '') + ' pred',
                 _labels(v.argmax(dim=0), palette))]
    if v.dtype == torch.bool:
        return [(name, _mask(v))]
    if v.is_floating_point():
        return [(name, _heat(v))]
    return [(name, _labels(v, palette))]


def _titled(title: str, img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    scale = max(1, int(np.ceil(PANEL_MIN_SIZE / max(h, w))))
    img = cv2.resize(img, (w * scale, h * scale),
                     interpolation=cv2.INTER_NEAREST)
    bar = np.full((16, img.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, title[:24], (2, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.38,
                (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([bar, img], axis=0)


def render_panels(vis_data: Dict[str, Tensor],
                  palette: Sequence[Sequence[int]],
                  mean: Sequence[float] = (0.0, 0.0, 0.0),
                  std: Sequence[float] = (1.0, 1.0, 1.0),
                  max_images: Optional[int] = 4) -> np.ndarray:
    """One RGB grid: a row of panels per sample, in ``vis_data`` order."""
    if not vis_data:
        raise ValueError('nothing to render: vis_data is empty')
    pal = np.asarray(palette, np.uint8)
    n = next(iter(vis_data.values())).shape[0]
    if max_images is not None:
        n = min(n, max_images)
    rows = []
    for i in range(n):
        tiles = []
        for name, value in vis_data.items():
            for title, img in panels_for(name, value, i, pal, mean, std):
                tiles.append(_titled(title, img))
                tiles.append(np.full((tiles[-1].shape[0], 4, 3), 255,
                                     np.uint8))
        rows.append(np.concatenate(tiles[:-1], axis=1))
    width = max(r.shape[1] for r in rows)
    rows = [
        np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)),
               constant_values=255) for r in rows
    ]
    if any(name.endswith('verdict') for name in vis_data):
        rows.append(verdict_legend(width))
    return np.concatenate(rows, axis=0)
