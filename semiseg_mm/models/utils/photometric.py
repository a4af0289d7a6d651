"""Photometric augmentation of normalised image batches on the device.

Methods that build their training images inside ``loss()`` (DACS mixes
source pixels into target images, then distorts the mixed image) cannot use
the data pipeline's transforms. :func:`to_unit_range` turns a batch as the
data preprocessor leaves it (normalised, RGB) into pixel values / 255, the
augmentations work there, drawing their parameters per image from
``generator`` (the global torch generator when ``None``), and
:func:`from_unit_range` restores the normalisation.

Colour jitter follows torchvision/kornia ``ColorJitter`` (brightness,
contrast and saturation factors in ``[1 - s, 1 + s]``, a hue rotation of up
to ``s`` of a turn), applied in that fixed order; the hue rotation is done in
YIQ space (a rotation of the chroma plane), not through HSV. The blur is a
separable Gaussian with reflected borders.
"""
import math
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

# ITU-R 601 luma weights (torchvision's rgb_to_grayscale)
_LUMA = (0.299, 0.587, 0.114)
_RGB2YIQ = ((0.299, 0.587, 0.114), (0.596, -0.274, -0.322),
            (0.211, -0.523, 0.312))


def _as_view(v: Sequence[float], like: Tensor) -> Tensor:
    return torch.as_tensor(v, dtype=like.dtype,
                           device=like.device).view(1, -1, 1, 1)


def to_unit_range(x: Tensor, mean: Sequence[float],
                  std: Sequence[float]) -> Tensor:
    """Normalised (N, 3, H, W) -> pixel values / 255."""
    return (x * _as_view(std, x) + _as_view(mean, x)) / 255.0


def from_unit_range(x: Tensor, mean: Sequence[float],
                    std: Sequence[float]) -> Tensor:
    """Inverse of :func:`to_unit_range`."""
    return (x * 255.0 - _as_view(mean, x)) / _as_view(std, x)


Gen = Optional[torch.Generator]


def _uniform(n: int, low: float, high: float, like: Tensor,
             generator: Gen = None) -> Tensor:
    return torch.empty(n, device=like.device,
                       dtype=like.dtype).uniform_(low, high,
                                                  generator=generator)


def _draw(n: int, prob: float, like: Tensor, generator: Gen = None) -> Tensor:
    """(N, 1, 1, 1) bool: which images an augmentation applies to."""
    return (torch.rand(n, device=like.device, generator=generator) <
            prob).view(n, 1, 1, 1)


def _grey(x: Tensor) -> Tensor:
    w = _as_view(_LUMA, x)
    return (x * w).sum(dim=1, keepdim=True)


def rotate_hue(x: Tensor, turns: Tensor) -> Tensor:
    """Rotate each image's chroma by ``turns[i]`` of a full turn (YIQ
    space); luma is unchanged. ``x`` in [0, 1], (N, 3, H, W)."""
    m = torch.as_tensor(_RGB2YIQ, dtype=x.dtype, device=x.device)
    m_inv = torch.linalg.inv(m)
    theta = turns * (2 * math.pi)
    c, s = torch.cos(theta), torch.sin(theta)
    rot = torch.zeros(len(x), 3, 3, dtype=x.dtype, device=x.device)
    rot[:, 0, 0] = 1.0
    rot[:, 1, 1], rot[:, 1, 2] = c, -s
    rot[:, 2, 1], rot[:, 2, 2] = s, c
    full = m_inv @ rot @ m  # (N, 3, 3): RGB -> RGB
    return torch.einsum('nij,njhw->nihw', full, x)


def color_jitter(x: Tensor,
                 strength: float,
                 prob: float = 1.0,
                 generator: Gen = None) -> Tensor:
    """Brightness, contrast, saturation and hue jitter of strength
    ``strength`` on a random ``prob`` share of the images of ``x`` (values
    in [0, 1], RGB); the others are returned unchanged."""
    if strength < 0:
        raise ValueError(f'color_jitter: strength must be >= 0, got '
                         f'{strength}')
    n = len(x)
    s = strength
    out = x
    b = _uniform(n, max(0.0, 1 - s), 1 + s, x, generator).view(n, 1, 1, 1)
    out = (out * b).clamp(0, 1)
    c = _uniform(n, max(0.0, 1 - s), 1 + s, x, generator).view(n, 1, 1, 1)
    mean = _grey(out).mean(dim=(2, 3), keepdim=True)
    out = ((out - mean) * c + mean).clamp(0, 1)
    sat = _uniform(n, max(0.0, 1 - s), 1 + s, x,
                   generator).view(n, 1, 1, 1)
    grey = _grey(out)
    out = ((out - grey) * sat + grey).clamp(0, 1)
    hue = _uniform(n, -min(s, 0.5), min(s, 0.5), x, generator)
    out = rotate_hue(out, hue).clamp(0, 1)
    return torch.where(_draw(n, prob, x, generator), out, x)


def gaussian_kernels(sigmas: Tensor, size: int) -> Tensor:
    """(N, size) normalised 1-D Gaussian kernels, one per sigma."""
    r = (size - 1) / 2
    t = torch.arange(size, dtype=sigmas.dtype, device=sigmas.device) - r
    k = torch.exp(-t.view(1, -1)**2 / (2 * sigmas.view(-1, 1)**2))
    return k / k.sum(dim=1, keepdim=True)


def blur_kernel_size(length: int) -> int:
    """An odd kernel about a tenth of ``length`` (at least 3), as DACS's
    ``gaussian_blur`` sizes it."""
    k = int(math.ceil(0.1 * length))
    return max(3, k if k % 2 == 1 else k + 1)


def gaussian_blur(x: Tensor,
                  sigma_range: Sequence[float] = (0.15, 1.15),
                  prob: float = 1.0,
                  generator: Gen = None) -> Tensor:
    """Blur a random ``prob`` share of the images of ``x`` with a Gaussian of
    a sigma drawn per image from ``sigma_range`` (separable, kernels a tenth
    of the image side, reflected borders)."""
    n, ch, h, w = x.shape
    lo, hi = sigma_range
    if not 0 < lo <= hi:
        raise ValueError(f'gaussian_blur: sigma_range must satisfy 0 < low '
                         f'<= high, got {tuple(sigma_range)}')
    sigmas = _uniform(n, lo, hi, x, generator)
    out = x.reshape(1, n * ch, h, w)
    for axis, length in ((2, h), (3, w)):
        size = min(blur_kernel_size(length), 2 * (length - 1) + 1)
        k = gaussian_kernels(sigmas, size).repeat_interleave(ch, dim=0)
        pad = size // 2
        if axis == 2:
            out = F.pad(out, (0, 0, pad, pad), mode='reflect')
            out = F.conv2d(out, k.view(n * ch, 1, size, 1), groups=n * ch)
        else:
            out = F.pad(out, (pad, pad, 0, 0), mode='reflect')
            out = F.conv2d(out, k.view(n * ch, 1, 1, size), groups=n * ch)
    out = out.view(n, ch, h, w)
    return torch.where(_draw(n, prob, x, generator), out, x)
