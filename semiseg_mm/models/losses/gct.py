"""Building blocks of GCT's losses (Ke et al., ECCV 2020).

Follows the paper and the official PixelSSL code
(``pixelssl/ssl_algorithm/ssl_gct.py``):

* :func:`flaw_target` is the flaw-detector ground truth C(.)
  (PixelSSL ``FDGTGenerator``), :func:`flaw_detector_loss` its MSE;
* :func:`process_flaw_map` turns a flaw-detector output into the map that
  guides the task models (PixelSSL ``FlawmapHandler``);
* :func:`dynamic_consistency_masks` / :func:`dynamic_consistency_loss`
  are the dynamic consistency (DC) constraint (PixelSSL
  ``DCGTGenerator``), :func:`flaw_correction_mask` /
  :func:`flaw_correction_loss` the flaw correction (FC) constraint.

Blur kernel sizes depend on the configured crop size, not on the tensor
size: ``odd_kernel_size(crop, d)`` with d = 8 / 4 / 16.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def odd_kernel_size(crop_size: int, divisor: int) -> int:
    """``int(crop_size / divisor)``, plus 1 if that is even.

    E.g. crop 321 -> 41 / 81 / 21 for divisors 8 / 4 / 16 (PixelSSL).
    """
    if crop_size <= 0 or divisor <= 0:
        raise ValueError('crop_size and divisor must be positive, got '
                         f'{crop_size} and {divisor}')
    k = int(crop_size / divisor)
    return k + 1 if k % 2 == 0 else k


def gaussian_sigma(kernel_size: int) -> float:
    """OpenCV's default sigma for a kernel size, as used by PixelSSL.

    ``0.3 * ((k - 1) / 2 - 1) + 0.8``, e.g. 6.5 for k = 41, 0.8 for k = 3.
    """
    return 0.3 * ((kernel_size - 1) / 2 - 1) + 0.8


def _reflect_index(i: int, n: int) -> int:
    """``scipy.ndimage``'s ``'reflect'`` boundary (d c b a | a b c d |
    d c b a) for index ``i`` of a length-``n`` signal."""
    i %= 2 * n
    return i if i < n else 2 * n - 1 - i


def gaussian_kernel1d(kernel_size: int,
                      dtype: torch.dtype = torch.float32,
                      device: Optional[torch.device] = None) -> Tensor:
    """PixelSSL's 1-D blur kernel of odd length ``kernel_size``.

    PixelSSL (``GaussianBlurLayer``) makes its kernel by blurring a centred
    delta in a ``k x k`` grid with ``scipy.ndimage.gaussian_filter`` (sigma
    :func:`gaussian_sigma`, default ``mode='reflect'``, ``truncate=4``).
    That filter is separable, so the 2-D kernel is the outer product of
    this 1-D one: the Gaussian ``exp(-x^2 / (2 sigma^2))`` over ``|x| <=
    int(4 sigma + 0.5)``, normalised, with the part that falls outside the
    ``k`` taps reflected back onto them (for k = 3: [0.2502, 0.4996,
    0.2502] instead of the plainly truncated [0.2390, 0.5220, 0.2390]).
    It sums to 1, so a constant map stays constant. Computed here without
    scipy.
    """
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(
            f'kernel_size must be a positive odd int, got {kernel_size}')
    sigma = gaussian_sigma(kernel_size)
    radius = int(4.0 * sigma + 0.5)
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    weights = torch.exp(-x**2 / (2 * sigma**2))
    weights = weights / weights.sum()
    centre = kernel_size // 2
    # scipy correlates: out[p] = sum_j w[j] * delta[reflect(p + j)]
    kernel = torch.zeros(kernel_size, dtype=torch.float64)
    for p in range(kernel_size):
        for j, w in zip(range(-radius, radius + 1), weights):
            if _reflect_index(p + j, kernel_size) == centre:
                kernel[p] += w
    return kernel.to(dtype=dtype, device=device)


def gaussian_blur(x: Tensor, kernel_size: int) -> Tensor:
    """Gaussian blur of each channel of ``x`` (N, C, H, W) (GCT maps: C=1).

    The input is reflection-padded by ``kernel_size // 2`` on every side
    and convolved ('valid') with the separable kernel of
    :func:`gaussian_kernel1d`, as PixelSSL's ``ReflectionPad2d`` + conv,
    so the output has the input's size and a constant map stays constant.
    Reflection padding needs ``kernel_size // 2 < min(H, W)``; a
    ``ValueError`` is raised otherwise.
    """
    if x.dim() != 4:
        raise ValueError(f'expected (N, C, H, W), got {tuple(x.shape)}')
    kernel = gaussian_kernel1d(kernel_size, dtype=x.dtype, device=x.device)
    pad = kernel_size // 2
    n, c, h, w = x.shape
    if pad == 0:
        return x.clone()
    if pad >= h or pad >= w:
        raise ValueError(
            f'Gaussian blur with kernel size {kernel_size} needs reflection '
            f'padding {pad} < map size, but the map is {h}x{w}; use a '
            'larger input or a smaller crop_size setting')
    y = F.pad(x.reshape(n * c, 1, h, w), (pad, pad, pad, pad),
              mode='reflect')
    y = F.conv2d(y, kernel.view(1, 1, 1, kernel_size))
    y = F.conv2d(y, kernel.view(1, 1, kernel_size, 1))
    return y.reshape(n, c, h, w)


def minmax_normalize(x: Tensor) -> Tensor:
    """Per-sample min-max normalisation of (N, ...) to [0, 1].

    A constant sample maps to zeros (PixelSSL divides by
    ``max - min + 1e-9``; here the division is guarded instead, so a
    non-constant sample reaches exactly 1).
    """
    flat = x.reshape(x.shape[0], -1)
    shape = (x.shape[0], ) + (1, ) * (x.dim() - 1)
    xmin = flat.min(dim=1)[0].view(shape)
    xmax = flat.max(dim=1)[0].view(shape)
    rng = xmax - xmin
    nonconst = rng > 0
    safe = torch.where(nonconst, rng, torch.ones_like(rng))
    return torch.where(nonconst, (x - xmin) / safe, torch.zeros_like(x))


def flaw_distance(probs: Tensor,
                  gt: Tensor,
                  ignore_index: int = 255) -> Tensor:
    """Un-blurred flaw ``d = 0.5 * sum_c |onehot(y)_c - p_c|``.

    For a labelled pixel this is ``1 - p_y`` (probabilities sum to 1). An
    ignore pixel has an all-zero one-hot vector in PixelSSL
    (``sslgct_prepare_task_gt_for_fdgt`` masks every class with
    ``gt != 255``), so ``d = 0.5 * sum_c p_c = 0.5`` there.

    Args:
        probs: (N, C, H, W) softmax probabilities.
        gt: (N, H, W) or (N, 1, H, W) integer labels in ``[0, C)`` or
            ``ignore_index``.
        ignore_index: label of pixels without ground truth.

    Returns:
        (N, 1, H, W) distance map.
    """
    if gt.dim() == 4:
        if gt.shape[1] != 1:
            raise ValueError(f'gt must be (N, H, W) or (N, 1, H, W), got '
                             f'{tuple(gt.shape)}')
        gt = gt[:, 0]
    if probs.dim() != 4 or gt.shape != probs.shape[:1] + probs.shape[2:]:
        raise ValueError(
            f'probs (N, C, H, W) and gt (N, H, W) disagree: '
            f'{tuple(probs.shape)} vs {tuple(gt.shape)}')
    num_classes = probs.shape[1]
    gt = gt.long()
    valid = gt != ignore_index
    labels = gt[valid]
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f'gt labels must be in [0, {num_classes}) or {ignore_index}, '
            f'got values in [{int(labels.min())}, {int(labels.max())}]')
    onehot = F.one_hot(torch.where(valid, gt, torch.zeros_like(gt)),
                       num_classes).permute(0, 3, 1, 2)
    onehot = onehot.to(probs.dtype) * valid.unsqueeze(1).to(probs.dtype)
    return 0.5 * (onehot - probs).abs().sum(dim=1, keepdim=True)


def dilate3x3(x: Tensor) -> Tensor:
    """3x3 max-pool dilation (stride 1) after reflection padding of 1."""
    return F.max_pool2d(F.pad(x, (1, 1, 1, 1), mode='reflect'), 3, stride=1)


def flaw_target(probs: Tensor,
                gt: Tensor,
                crop_size: int,
                ignore_index: int = 255,
                blur_divisor: int = 8,
                reblur_divisor: int = 4,
                num_dilations: int = 1) -> Tensor:
    """Flaw-detector ground truth C(.) (the paper; PixelSSL
    ``FDGTGenerator``).

    ``d`` from :func:`flaw_distance`; Gaussian blur with kernel
    ``odd_kernel_size(crop_size, 8)``; ``num_dilations`` times (once in
    GCT): 3x3 max-pool dilation with reflection padding followed by a
    Gaussian blur with kernel ``odd_kernel_size(crop_size, 4)``; finally
    per-sample min-max normalisation to [0, 1] (a constant map gives
    zeros). PixelSSL's scale ``mu`` (0.5 here, in ``d``) has no effect
    after the normalisation.

    The caller computes targets under ``torch.no_grad()`` (PixelSSL uses
    the detached prediction); the function itself is differentiable.

    Returns:
        (N, 1, H, W) target in [0, 1].
    """
    return flaw_target_from_distance(
        flaw_distance(probs, gt, ignore_index), crop_size, blur_divisor,
        reblur_divisor, num_dilations)


def flaw_target_from_distance(distance: Tensor,
                              crop_size: int,
                              blur_divisor: int = 8,
                              reblur_divisor: int = 4,
                              num_dilations: int = 1) -> Tensor:
    """C(.) from an un-blurred per-pixel flaw ``distance`` (N, 1, H, W).

    The smoothing half of :func:`flaw_target` (blur, ``num_dilations`` x
    dilate + re-blur, per-sample min-max normalisation), for tasks whose
    distance is not the classification one, e.g. the mean absolute error
    over output channels of an image-regression task (GCT's denoising).
    """
    d = gaussian_blur(distance, odd_kernel_size(crop_size, blur_divisor))
    reblur = odd_kernel_size(crop_size, reblur_divisor)
    for _ in range(num_dilations):
        d = gaussian_blur(dilate3x3(d), reblur)
    return minmax_normalize(d)


def process_flaw_map(flaw: Tensor,
                     crop_size: int,
                     clear_threshold: float = 0.1,
                     blur_divisor: int = 16) -> Tensor:
    """Flaw map that guides the task models (PixelSSL ``FlawmapHandler``).

    Clamp to >= 0, Gaussian blur with kernel ``odd_kernel_size(crop, 16)``;
    a sample whose blurred maximum is <= ``clear_threshold`` becomes all
    zero (no flaw), every other sample is min-max normalised to [0, 1].

    Quirk of the official code, not reproduced: it zeroes a cleared map
    and then still normalises it with the pre-zeroing min/max, so a
    "cleared" map becomes the negative constant ``-min / (max - min)``.
    This implements the intended all-zero map (the GCT README's
    "Differences from the official code", row 1).

    Call it under ``torch.no_grad()`` (PixelSSL works on ``flawmap.data``).

    Args:
        flaw: (N, 1, H, W) flaw-detector output.

    Returns:
        (N, 1, H, W) map in [0, 1].
    """
    flaw = gaussian_blur(flaw.clamp(min=0),
                         odd_kernel_size(crop_size, blur_divisor))
    fmax = flaw.reshape(flaw.shape[0], -1).max(dim=1)[0]
    keep = (fmax > clear_threshold).view(-1, *(1, ) * (flaw.dim() - 1))
    return torch.where(keep, minmax_normalize(flaw), torch.zeros_like(flaw))


def _hopeless_as_one(flaw: Tensor, xi: float) -> Tensor:
    # PixelSSL's DCGTGenerator: a value counts as bad when > xi
    return torch.where(flaw > xi, torch.ones_like(flaw), flaw)


def dynamic_consistency_masks(flaw1: Tensor,
                              flaw2: Tensor,
                              xi: float = 0.6) -> Tuple[Tensor, Tensor]:
    """Where each task model learns from the other (DC, the paper).

    Flaw values ``> xi`` count as 1 (hopeless; PixelSSL ``DCGTGenerator``,
    a value exactly at xi is not). Model 1 is pulled towards
    model 2 where its thresholded flaw is strictly larger than model 2's,
    and vice versa; ties (including both hopeless) keep each model's own
    prediction, i.e. both masks are 0 there.

    Args:
        flaw1, flaw2: (N, 1, H, W) processed flaw maps
            (:func:`process_flaw_map`) of model 1 and model 2.
        xi: DC threshold (0.6 in GCT).

    Returns:
        (mask1, mask2): float (N, 1, H, W) masks for model 1 and model 2.
    """
    if flaw1.shape != flaw2.shape:
        raise ValueError('flaw maps must have the same shape, got '
                         f'{tuple(flaw1.shape)} and {tuple(flaw2.shape)}')
    t1 = _hopeless_as_one(flaw1.detach(), xi)
    t2 = _hopeless_as_one(flaw2.detach(), xi)
    return (t1 > t2).to(flaw1.dtype), (t2 > t1).to(flaw2.dtype)


def flaw_correction_mask(flaw1: Tensor,
                         flaw2: Tensor,
                         xi: float = 0.6) -> Tensor:
    """Pixels where both processed flaw maps are ``> xi`` (FC, the paper).

    Returns:
        float (N, 1, H, W) mask, shared by both task models.
    """
    if flaw1.shape != flaw2.shape:
        raise ValueError('flaw maps must have the same shape, got '
                         f'{tuple(flaw1.shape)} and {tuple(flaw2.shape)}')
    both = (flaw1.detach() > xi) & (flaw2.detach() > xi)
    return both.to(flaw1.dtype)


def dynamic_consistency_loss(probs_k: Tensor, probs_other: Tensor,
                             mask_k: Tensor) -> Tensor:
    """DC loss of model k: MSE to the other model's detached probabilities.

    PixelSSL builds the target ``mask * p_other + (1 - mask) * p_k`` from
    detached predictions and takes the mean squared error over all
    elements, so unmasked pixels contribute zero. Equivalently: the sum of
    squared differences over classes and masked pixels divided by the
    number of elements of the prediction (N * C * H * W), i.e.
    ``F.mse_loss(probs_k * mask, probs_other.detach() * mask)``. The
    gradient reaches ``probs_k`` only. Weighting (lambda_dc, ramp-up) is
    the caller's.

    Args:
        probs_k: (N, C, H, W) softmax probabilities of model k.
        probs_other: (N, C, H, W) probabilities of the other model.
        mask_k: (N, 1, H, W) mask from :func:`dynamic_consistency_masks`.
    """
    if probs_k.shape != probs_other.shape:
        raise ValueError('predictions must have the same shape, got '
                         f'{tuple(probs_k.shape)} and '
                         f'{tuple(probs_other.shape)}')
    mask = mask_k.detach().to(probs_k.dtype)
    return F.mse_loss(probs_k * mask, probs_other.detach() * mask)


def flaw_correction_loss(flaw_pred_k: Tensor, mask: Tensor) -> Tensor:
    """FC loss of model k: ``mean((F(x, T_k(x)) * mask) ** 2)``.

    ``flaw_pred_k`` is the (frozen) flaw detector's raw output on model
    k's prediction, computed with gradients so that they flow into T_k;
    ``mask`` is :func:`flaw_correction_mask`. Equals PixelSSL's per-sample
    mean followed by the batch mean (all samples have the same size).
    """
    return (flaw_pred_k * mask.detach().to(flaw_pred_k.dtype)).pow(2).mean()


def flaw_detector_loss(flaw_pred: Tensor, target: Tensor) -> Tensor:
    """Flaw-detector loss: MSE between F's output and C(.) (mean).

    The target is detached (it is a label); the weight (10 in GCT) is the
    caller's.
    """
    if flaw_pred.shape != target.shape:
        raise ValueError('flaw prediction and target must have the same '
                         f'shape, got {tuple(flaw_pred.shape)} and '
                         f'{tuple(target.shape)}')
    return F.mse_loss(flaw_pred, target.detach())


__all__ = [
    'odd_kernel_size', 'gaussian_sigma', 'gaussian_kernel1d',
    'gaussian_blur', 'minmax_normalize', 'flaw_distance', 'dilate3x3',
    'flaw_target', 'flaw_target_from_distance', 'process_flaw_map',
    'dynamic_consistency_masks', 'flaw_correction_mask',
    'dynamic_consistency_loss', 'flaw_correction_loss', 'flaw_detector_loss'
]
