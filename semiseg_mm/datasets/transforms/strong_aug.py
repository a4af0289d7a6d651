"""Strong (photometric) augmentation of the student view.

UniMatch ``dataset/transform.py`` semantics on mmseg's BGR ``uint8`` images:
``RandomColorJitter(0.5, 0.5, 0.5, 0.25)`` with p=0.8, ``RandomGrayscale``
p=0.2, ``RandomGaussianBlur`` (sigma 0.1-2) p=0.5 and ``GenerateCutMixBox``
p=0.5 (area 2-40 %, aspect 0.3-3.3). ELN uses ColorJitter(0.4, 0.4, 0.4,
0.1) + grayscale 0.2: pass those numbers to the constructors.

The transforms go after ``LoadImageFromFile`` (and after any geometric
transform: ``GenerateCutMixBox`` records pixel coordinates of the current
image) and before ``PackSegInputs``. They never touch ``gt_seg_map`` and
keep the image shape and dtype. Randomness comes from numpy's global RNG
(``np.random``), as in mmseg, so mmengine's seeding makes them reproducible;
the random draws sit in ``@cache_randomness`` methods so that mmcv's
``cache_random_params`` can replay them.

Images are expected in ``[0, 255]`` (``uint8``, or float when
``LoadImageFromFile(to_float32=True)``). Every colour op computes in float
and, like PIL/torchvision, re-quantizes a ``uint8`` image after each op; it
rounds to the nearest level (PIL and torchvision truncate), so results may
differ from theirs by one grey level.

``GenerateCutMixBox`` stores ``results['cutmix_box']``; mmseg's
``PackSegInputs`` packs only the meta keys it lists, so the strong branch
must use ``PackSegInputs(meta_keys=STRONG_META_KEYS)`` (or list
``'cutmix_box'`` itself) for the box to reach ``data_sample.metainfo``.
"""
import math
from numbers import Real
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from semiseg_mm.registry import TRANSFORMS

#: mmseg ``PackSegInputs`` default ``meta_keys`` (mmseg 1.2.2).
PACK_SEG_DEFAULT_META_KEYS: Tuple[str, ...] = (
    'img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'pad_shape',
    'scale_factor', 'flip', 'flip_direction', 'reduce_zero_label')
#: ``meta_keys`` for the strong branch's ``PackSegInputs``.
STRONG_META_KEYS: Tuple[str, ...] = PACK_SEG_DEFAULT_META_KEYS + (
    'cutmix_box', )

Box = Tuple[int, int, int, int]

# PIL's ``convert('L')``: ITU-R 601-2 luma in 16-bit fixed point, rounded.
_LUMA_FIXED = (19595, 38470, 7471)  # R, G, B; sums to 1 << 16
_LUMA_FLOAT = (0.299, 0.587, 0.114)  # R, G, B


def _check_prob(prob: float) -> float:
    if not isinstance(prob, Real) or not 0.0 <= prob <= 1.0:
        raise ValueError(f'prob must be a number in [0, 1], got {prob!r}')
    return float(prob)


def _check_range(name: str, value: Sequence[float], low: float,
                 high: float = math.inf) -> Tuple[float, float]:
    """Check that ``value`` is a pair ``low < v[0] <= v[1] <= high``."""
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(
            f'{name} must be a pair of numbers (min, max), got {value!r}')
    if not low < lo <= hi <= high:
        bound = f' <= {high}' if math.isfinite(high) else ''
        raise ValueError(f'{name} must satisfy {low} < min <= max{bound}, '
                         f'got {value!r}')
    return lo, hi


def _check_image(img: np.ndarray, name: str) -> None:
    if not isinstance(img, np.ndarray) or img.ndim != 3 \
            or img.shape[2] != 3:
        shape = getattr(img, 'shape', type(img).__name__)
        raise ValueError(
            f'{name} expects an HxWx3 BGR image in results["img"], '
            f'got {shape}')


def _quantize(img: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Clip a float image to [0, 255] and cast it back to ``dtype``."""
    if np.issubdtype(dtype, np.integer):
        img = np.rint(img)
    return np.clip(img, 0, 255).astype(dtype)


def bgr_to_luma(img: np.ndarray) -> np.ndarray:
    """ITU-R 601-2 luma (HxW) of a BGR image, as PIL's ``convert('L')``.

    ``uint8`` input uses PIL's rounded fixed-point formula and returns
    ``uint8``; float input returns float32 ``0.299 R + 0.587 G + 0.114 B``.
    """
    b, g, r = (img[..., i] for i in range(3))
    if img.dtype == np.uint8:
        wr, wg, wb = _LUMA_FIXED
        luma = (r.astype(np.uint32) * wr + g.astype(np.uint32) * wg +
                b.astype(np.uint32) * wb + (1 << 15)) >> 16
        return luma.astype(np.uint8)
    wr, wg, wb = _LUMA_FLOAT
    return (wr * r + wg * g + wb * b).astype(np.float32)


def cutmix_box_mask(box: Optional[Sequence[int]], height: int,
                    width: int) -> np.ndarray:
    """Boolean HxW mask, True inside ``box = (x1, y1, x2, y2)``.

    ``x2``/``y2`` are exclusive; coordinates are clipped to the image;
    ``None`` (no box drawn) gives an all-False mask.
    """
    mask = np.zeros((height, width), dtype=bool)
    if box is None:
        return mask
    if len(box) != 4:
        raise ValueError(
            f'box must be (x1, y1, x2, y2) or None, got {box!r}')
    x1, y1, x2, y2 = (int(v) for v in box)
    x1, x2 = max(0, x1), min(width, x2)
    y1, y2 = max(0, y1), min(height, y2)
    if x2 > x1 and y2 > y1:
        mask[y1:y2, x1:x2] = True
    return mask


@TRANSFORMS.register_module()
class RandomColorJitter(BaseTransform):
    """torchvision ``ColorJitter`` applied with probability ``prob``.

    Factors are drawn uniformly from ``[max(0, 1 - x), 1 + x]`` for
    brightness, contrast and saturation and the hue shift from
    ``[-hue, hue]`` (in full turns); the four ops run in a random order. An
    argument of 0 disables its op (and draws no number for it). Brightness
    scales the image, contrast blends with the mean luma, saturation blends
    with the luma image, hue rotates H in HSV.

    Required keys: ``img`` (BGR). Modified keys: ``img``.

    Args:
        brightness: brightness jitter, >= 0.
        contrast: contrast jitter, >= 0.
        saturation: saturation jitter, >= 0.
        hue: hue jitter in [0, 0.5] (fraction of a full turn).
        prob: probability of applying the jitter.
    """

    def __init__(self,
                 brightness: float = 0.5,
                 contrast: float = 0.5,
                 saturation: float = 0.5,
                 hue: float = 0.25,
                 prob: float = 0.8) -> None:
        for name, value in (('brightness', brightness),
                            ('contrast', contrast),
                            ('saturation', saturation)):
            if not isinstance(value, Real) or value < 0:
                raise ValueError(
                    f'{name} must be a number >= 0, got {value!r}')
        if not isinstance(hue, Real) or not 0.0 <= hue <= 0.5:
            raise ValueError(f'hue must be a number in [0, 0.5], got {hue!r}')
        self.brightness = float(brightness)
        self.contrast = float(contrast)
        self.saturation = float(saturation)
        self.hue = float(hue)
        self.prob = _check_prob(prob)

    @cache_randomness
    def _get_params(self) -> Optional[List[Tuple[int, float]]]:
        """Draw ``[(op_index, factor), ...]`` in application order.

        Ops: 0 brightness, 1 contrast, 2 saturation, 3 hue. Returns ``None``
        when the probability test fails. Draw order: the prob test, the
        permutation, then the factors of enabled ops in op-index order (as
        torchvision's ``ColorJitter.get_params``).
        """
        if not np.random.rand() < self.prob:
            return None
        order = np.random.permutation(4)
        factors = {}
        jitters = (self.brightness, self.contrast, self.saturation)
        for idx, x in enumerate(jitters):
            if x > 0:
                factors[idx] = float(np.random.uniform(max(0.0, 1 - x), 1 + x))
        if self.hue > 0:
            factors[3] = float(np.random.uniform(-self.hue, self.hue))
        return [(int(i), factors[int(i)]) for i in order if int(i) in factors]

    @staticmethod
    def _adjust_brightness(img: np.ndarray, factor: float) -> np.ndarray:
        return _quantize(img.astype(np.float32) * factor, img.dtype)

    @staticmethod
    def _adjust_contrast(img: np.ndarray, factor: float) -> np.ndarray:
        mean = float(bgr_to_luma(img).mean())
        out = factor * img.astype(np.float32) + (1 - factor) * mean
        return _quantize(out, img.dtype)

    @staticmethod
    def _adjust_saturation(img: np.ndarray, factor: float) -> np.ndarray:
        gray = bgr_to_luma(img).astype(np.float32)[..., None]
        out = factor * img.astype(np.float32) + (1 - factor) * gray
        return _quantize(out, img.dtype)

    @staticmethod
    def _adjust_hue(img: np.ndarray, shift: float) -> np.ndarray:
        """Rotate hue by ``shift`` turns (float HSV, H in degrees)."""
        hsv = cv2.cvtColor(
            np.clip(img.astype(np.float32) / 255.0, 0, 1), cv2.COLOR_BGR2HSV)
        hsv[..., 0] = np.mod(hsv[..., 0] + 360.0 * shift, 360.0)
        out = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR) * 255.0
        return _quantize(out, img.dtype)

    def transform(self, results: dict) -> dict:
        """Jitter ``results['img']`` in place of the dict."""
        params = self._get_params()
        if params is None:
            return results
        img = results['img']
        _check_image(img, type(self).__name__)
        ops = (self._adjust_brightness, self._adjust_contrast,
               self._adjust_saturation, self._adjust_hue)
        for idx, factor in params:
            img = ops[idx](img, factor)
        results['img'] = img
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(brightness={self.brightness}, '
                f'contrast={self.contrast}, saturation={self.saturation}, '
                f'hue={self.hue}, prob={self.prob})')


@TRANSFORMS.register_module()
class RandomGrayscale(BaseTransform):
    """Replace the image by its luma in all 3 channels with prob ``prob``.

    Luma: ITU-R 601-2 (``0.299 R + 0.587 G + 0.114 B``, rounded as PIL's
    ``convert('L')`` does), computed from the BGR input.

    Required keys: ``img`` (BGR). Modified keys: ``img``.

    Args:
        prob: probability of converting to grayscale.
    """

    def __init__(self, prob: float = 0.2) -> None:
        self.prob = _check_prob(prob)

    @cache_randomness
    def _do_gray(self) -> bool:
        return bool(np.random.rand() < self.prob)

    def transform(self, results: dict) -> dict:
        """Gray ``results['img']`` if the probability test passes."""
        if not self._do_gray():
            return results
        img = results['img']
        _check_image(img, type(self).__name__)
        luma = bgr_to_luma(img).astype(img.dtype)
        results['img'] = np.repeat(luma[..., None], 3, axis=2)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(prob={self.prob})'


@TRANSFORMS.register_module()
class RandomGaussianBlur(BaseTransform):
    """Gaussian blur with sigma uniform in ``sigma_range``, prob ``prob``.

    UniMatch uses PIL's ``ImageFilter.GaussianBlur(radius=sigma)``, whose
    ``radius`` is the standard deviation (PIL approximates the Gaussian by
    box blurs and extends the border pixels). Here ``cv2.GaussianBlur`` with
    that sigma and a replicated border is used; with ``kernel_size=None`` the
    (odd) kernel size is ``2 * ceil(3 * sigma) + 1`` (at least 3), i.e. the
    kernel covers +-3 sigma.

    Required keys: ``img``. Modified keys: ``img``.

    Args:
        sigma_range: (min, max) of the blur standard deviation, in pixels.
        prob: probability of blurring.
        kernel_size: fixed odd kernel size, or ``None`` to derive it from
            sigma.
    """

    def __init__(self,
                 sigma_range: Sequence[float] = (0.1, 2.0),
                 prob: float = 0.5,
                 kernel_size: Optional[int] = None) -> None:
        self.sigma_range = _check_range('sigma_range', sigma_range, 0.0)
        self.prob = _check_prob(prob)
        if kernel_size is not None and (
                isinstance(kernel_size, bool)
                or not isinstance(kernel_size, int) or kernel_size < 1
                or kernel_size % 2 == 0):
            raise ValueError('kernel_size must be None or an odd positive '
                             f'int, got {kernel_size!r}')
        self.kernel_size = kernel_size

    @cache_randomness
    def _get_sigma(self) -> Optional[float]:
        """Blur sigma, or ``None`` when the probability test fails."""
        if not np.random.rand() < self.prob:
            return None
        return float(np.random.uniform(*self.sigma_range))

    def kernel_size_for(self, sigma: float) -> int:
        """Kernel size used for ``sigma``."""
        if self.kernel_size is not None:
            return self.kernel_size
        return max(3, 2 * math.ceil(3 * sigma) + 1)

    def transform(self, results: dict) -> dict:
        """Blur ``results['img']`` if the probability test passes."""
        sigma = self._get_sigma()
        if sigma is None:
            return results
        img = results['img']
        k = self.kernel_size_for(sigma)
        blurred = cv2.GaussianBlur(
            img, (k, k),
            sigmaX=sigma,
            sigmaY=sigma,
            borderType=cv2.BORDER_REPLICATE)
        results['img'] = blurred.reshape(img.shape)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(sigma_range={self.sigma_range}, '
                f'prob={self.prob}, kernel_size={self.kernel_size})')


@TRANSFORMS.register_module()
class GenerateCutMixBox(BaseTransform):
    """Draw a CutMix box as UniMatch's ``obtain_cutmix_box`` (image kept).

    With probability ``prob``: area = U(area_range) * H * W (drawn once),
    then repeatedly ratio = U(aspect_range), box width
    ``int(sqrt(area / ratio))`` and height ``int(sqrt(area * ratio))``
    (each at least 1), top-left ``x ~ randint(0, W)``, ``y ~ randint(0, H)``
    until the box fits in the image. After ``max_attempts`` misses (only for
    very elongated or tiny images) the last box is clipped to the image
    size and placed uniformly where it fits.

    Adds ``results['cutmix_box'] = (x1, y1, x2, y2)`` (python ints, pixel
    coordinates of the current ``results['img']``, x2/y2 exclusive), or
    ``None`` when the probability test fails. Put it after every geometric
    transform of the branch and list ``'cutmix_box'`` in the branch's
    ``PackSegInputs(meta_keys=...)`` (see :data:`STRONG_META_KEYS`), which
    packs only the listed keys into ``data_sample.metainfo``.

    Required keys: ``img``. Added keys: ``cutmix_box``.

    Args:
        prob: probability of drawing a box.
        area_range: (min, max) box area as a fraction of the image area.
        aspect_range: (min, max) of the ratio height / width.
        max_attempts: placement tries before the clipping fallback.
    """

    def __init__(self,
                 prob: float = 0.5,
                 area_range: Sequence[float] = (0.02, 0.4),
                 aspect_range: Sequence[float] = (0.3, 1 / 0.3),
                 max_attempts: int = 1000) -> None:
        self.prob = _check_prob(prob)
        self.area_range = _check_range('area_range', area_range, 0.0, 1.0)
        self.aspect_range = _check_range('aspect_range', aspect_range, 0.0)
        if isinstance(max_attempts, bool) or not isinstance(
                max_attempts, int) or max_attempts < 1:
            raise ValueError(
                f'max_attempts must be an int >= 1, got {max_attempts!r}')
        self.max_attempts = max_attempts

    @cache_randomness
    def _get_box(self, height: int, width: int) -> Optional[Box]:
        """Random box for an image of ``height`` x ``width``, or None."""
        if not np.random.rand() < self.prob:
            return None
        area = np.random.uniform(*self.area_range) * height * width
        for _ in range(self.max_attempts):
            ratio = np.random.uniform(*self.aspect_range)
            w = max(1, int(np.sqrt(area / ratio)))
            h = max(1, int(np.sqrt(area * ratio)))
            x = int(np.random.randint(0, width))
            y = int(np.random.randint(0, height))
            if x + w <= width and y + h <= height:
                return x, y, x + w, y + h
        w, h = min(w, width), min(h, height)
        x = int(np.random.randint(0, width - w + 1))
        y = int(np.random.randint(0, height - h + 1))
        return x, y, x + w, y + h

    def transform(self, results: dict) -> dict:
        """Store the box of ``results['img']`` in ``results['cutmix_box']``.
        """
        height, width = results['img'].shape[:2]
        results['cutmix_box'] = self._get_box(height, width)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(prob={self.prob}, '
                f'area_range={self.area_range}, '
                f'aspect_range={self.aspect_range}, '
                f'max_attempts={self.max_attempts})')
