"""Strong (photometric) augmentation: hand-checkable expectations."""
import copy

import cv2
import numpy as np
import pytest
from mmcv.transforms.utils import cache_random_params

import semiseg_mm.datasets.transforms as T
from semiseg_mm.datasets.transforms import (STRONG_META_KEYS,
                                            GenerateCutMixBox,
                                            RandomColorJitter,
                                            RandomGaussianBlur,
                                            RandomGrayscale, cutmix_box_mask)
from semiseg_mm.registry import TRANSFORMS

# BGR pixels and their PIL 'L' luma (0.299 R + 0.587 G + 0.114 B, rounded)
LUMA_CASES = [
    ((0, 0, 255), 76),  # red: 76.245
    ((0, 255, 0), 150),  # green: 149.685
    ((255, 0, 0), 29),  # blue: 29.07
    ((255, 255, 255), 255),
    ((10, 20, 30), 22),  # 0.299*30 + 0.587*20 + 0.114*10 = 21.85
]


def _rand_img(h: int = 12, w: int = 16, seed: int = 0) -> np.ndarray:
    rng = np.random.RandomState(seed)
    return rng.randint(0, 256, size=(h, w, 3), dtype=np.uint8)


def _results(img: np.ndarray) -> dict:
    gt = np.arange(img.shape[0] * img.shape[1], dtype=np.uint8).reshape(
        img.shape[:2])
    return dict(img=img, gt_seg_map=gt, img_shape=img.shape[:2])


def _fixed_uniform(monkeypatch, value: float) -> None:
    """Make every ``np.random.uniform`` call return ``value``."""
    monkeypatch.setattr(np.random, 'uniform', lambda *a, **k: value)


ALL_PROB1 = [
    lambda: RandomColorJitter(prob=1.0),
    lambda: RandomGrayscale(prob=1.0),
    lambda: RandomGaussianBlur(prob=1.0),
    lambda: GenerateCutMixBox(prob=1.0),
]


@pytest.mark.parametrize('make', ALL_PROB1)
@pytest.mark.parametrize('dtype', [np.uint8, np.float32])
def test_gt_untouched_shape_and_dtype_kept(make, dtype):
    np.random.seed(3)
    img = _rand_img(9, 13).astype(dtype)
    res = _results(img)
    gt, gt_copy = res['gt_seg_map'], res['gt_seg_map'].copy()
    out = make()(res)
    assert out['gt_seg_map'] is gt
    np.testing.assert_array_equal(out['gt_seg_map'], gt_copy)
    assert out['img'].shape == img.shape
    assert out['img'].dtype == img.dtype


@pytest.mark.parametrize('make', [
    lambda: RandomColorJitter(prob=0.0),
    lambda: RandomGrayscale(prob=0.0),
    lambda: RandomGaussianBlur(prob=0.0),
])
def test_prob_zero_is_identity(make):
    img = _rand_img()
    before = img.copy()
    res = make()(_results(img))
    assert res['img'] is img
    np.testing.assert_array_equal(img, before)


def test_grayscale_luma():
    img = np.array([[c for c, _ in LUMA_CASES]], dtype=np.uint8)
    out = RandomGrayscale(prob=1.0)(_results(img.copy()))['img']
    assert out.shape == img.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[..., 0], out[..., 1])
    np.testing.assert_array_equal(out[..., 0], out[..., 2])
    np.testing.assert_array_equal(out[0, :, 0], [v for _, v in LUMA_CASES])


def test_brightness_from_seed():
    img = _rand_img()
    t = RandomColorJitter(0.5, 0, 0, 0, prob=1.0)
    np.random.seed(7)
    out = t(_results(img.copy()))['img']
    np.random.seed(7)
    np.random.rand()  # prob test
    np.random.permutation(4)  # op order
    factor = np.random.uniform(0.5, 1.5)
    expected = np.clip(np.rint(img.astype(np.float64) * factor), 0, 255)
    np.testing.assert_array_equal(out, expected.astype(np.uint8))


def test_brightness_by_hand(monkeypatch):
    _fixed_uniform(monkeypatch, 2.0)
    img = np.array([[[0, 10, 100], [127, 128, 200]]], dtype=np.uint8)
    out = RandomColorJitter(1.0, 0, 0, 0, prob=1.0)(_results(img))['img']
    np.testing.assert_array_equal(out, [[[0, 20, 200], [254, 255, 255]]])


def test_contrast_zero_gives_mean_luma(monkeypatch):
    _fixed_uniform(monkeypatch, 0.0)
    img = np.array([[[0, 0, 255], [255, 255, 255]]], dtype=np.uint8)
    out = RandomColorJitter(0, 1.0, 0, 0, prob=1.0)(_results(img))['img']
    # luma 76 and 255 -> mean 165.5 -> rounds to even 166
    np.testing.assert_array_equal(out, np.full_like(img, 166))


def test_saturation_zero_gives_luma(monkeypatch):
    _fixed_uniform(monkeypatch, 0.0)
    img = np.array([[c for c, _ in LUMA_CASES]], dtype=np.uint8)
    out = RandomColorJitter(0, 0, 1.0, 0, prob=1.0)(_results(img))['img']
    expected = np.array([v for _, v in LUMA_CASES], dtype=np.uint8)
    np.testing.assert_array_equal(out, np.repeat(expected[None, :, None], 3,
                                                 axis=2))


@pytest.mark.parametrize('shift,bgr', [(1 / 3, (0, 255, 0)),
                                       (-1 / 3, (255, 0, 0)),
                                       (0.5, (255, 255, 0))])
def test_hue_rotation_of_red(monkeypatch, shift, bgr):
    _fixed_uniform(monkeypatch, shift)
    img = np.array([[[0, 0, 255], [90, 90, 90]]], dtype=np.uint8)
    out = RandomColorJitter(0, 0, 0, 0.5, prob=1.0)(_results(img))['img']
    assert np.abs(out[0, 0].astype(int) - bgr).max() <= 1
    np.testing.assert_array_equal(out[0, 1], [90, 90, 90])  # grey: no hue


def test_color_jitter_factor_ranges_and_order():
    t = RandomColorJitter()
    np.random.seed(0)
    seen_first = set()
    for _ in range(200):
        params = t._get_params()
        if params is None:
            continue
        assert sorted(i for i, _ in params) == [0, 1, 2, 3]
        seen_first.add(params[0][0])
        for idx, f in params:
            if idx < 3:
                assert 0.5 <= f <= 1.5
            else:
                assert -0.25 <= f <= 0.25
    assert seen_first == {0, 1, 2, 3}
    t = RandomColorJitter(brightness=2.0, contrast=0, saturation=0, hue=0,
                          prob=1.0)
    params = t._get_params()
    assert len(params) == 1 and params[0][0] == 0 and 0 <= params[0][1] <= 3


def test_color_jitter_reproducible_and_cacheable():
    img = _rand_img()
    t = RandomColorJitter(prob=1.0)
    np.random.seed(11)
    a = t(_results(img.copy()))['img']
    np.random.seed(11)
    b = t(_results(img.copy()))['img']
    np.testing.assert_array_equal(a, b)
    with cache_random_params(t):
        c = t(_results(img.copy()))['img']
        d = t(_results(img.copy()))['img']
    np.testing.assert_array_equal(c, d)


def test_probability_rates():
    np.random.seed(0)
    t = RandomGrayscale(prob=0.2)
    n = sum(t._do_gray() for _ in range(2000))
    assert 300 < n < 500
    j = RandomColorJitter()
    n = sum(j._get_params() is not None for _ in range(2000))
    assert 1500 < n < 1700


@pytest.mark.parametrize('kwargs', [
    dict(hue=0.6), dict(hue=-0.1), dict(brightness=-1), dict(contrast=-0.1),
    dict(saturation='a'), dict(prob=1.5), dict(prob=-0.1)
])
def test_color_jitter_validation(kwargs):
    with pytest.raises(ValueError):
        RandomColorJitter(**kwargs)


@pytest.mark.parametrize('make', [
    lambda: RandomGrayscale(prob=2),
    lambda: RandomGaussianBlur(sigma_range=(2.0, 1.0)),
    lambda: RandomGaussianBlur(sigma_range=(0.0, 1.0)),
    lambda: RandomGaussianBlur(sigma_range=1.0),
    lambda: RandomGaussianBlur(kernel_size=4),
    lambda: RandomGaussianBlur(kernel_size=0),
    lambda: GenerateCutMixBox(area_range=(0.0, 0.4)),
    lambda: GenerateCutMixBox(area_range=(0.1, 1.5)),
    lambda: GenerateCutMixBox(aspect_range=(3.0, 0.3)),
    lambda: GenerateCutMixBox(max_attempts=0),
])
def test_other_validation(make):
    with pytest.raises(ValueError):
        make()


def test_color_ops_reject_non_bgr():
    res = dict(img=np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match='HxWx3'):
        RandomGrayscale(prob=1.0)(res)


def test_blur_constant_and_noise():
    t = RandomGaussianBlur(prob=1.0)
    assert [t.kernel_size_for(s) for s in (0.1, 1.0, 1.5, 2.0)] == [3, 7, 11,
                                                                    13]
    assert RandomGaussianBlur(kernel_size=5).kernel_size_for(2.0) == 5
    np.random.seed(0)
    const = np.full((16, 16, 3), 137, np.uint8)
    np.testing.assert_array_equal(t(_results(const.copy()))['img'], const)
    noise = _rand_img(64, 64)
    t = RandomGaussianBlur(sigma_range=(1.0, 2.0), prob=1.0)
    out = t(_results(noise.copy()))['img']
    assert out.var() < 0.5 * noise.var()


def test_blur_matches_cv2_with_drawn_sigma():
    img = _rand_img(20, 20)
    t = RandomGaussianBlur(prob=1.0)
    np.random.seed(5)
    out = t(_results(img.copy()))['img']
    np.random.seed(5)
    np.random.rand()
    sigma = np.random.uniform(0.1, 2.0)
    k = max(3, 2 * int(np.ceil(3 * sigma)) + 1)
    expected = cv2.GaussianBlur(img, (k, k), sigma, sigmaY=sigma,
                                borderType=cv2.BORDER_REPLICATE)
    np.testing.assert_array_equal(out, expected)


def test_cutmix_box_prob_zero_and_image_untouched():
    img = _rand_img()
    res = GenerateCutMixBox(prob=0.0)(_results(img))
    assert 'cutmix_box' in res and res['cutmix_box'] is None
    res = GenerateCutMixBox(prob=1.0)(_results(img))
    assert res['img'] is img


def test_cutmix_box_statistics():
    h, w = 60, 90
    t = GenerateCutMixBox(prob=1.0)
    np.random.seed(0)
    fracs = []
    for _ in range(400):
        box = t(_results(np.zeros((h, w, 3), np.uint8)))['cutmix_box']
        assert isinstance(box, tuple) and len(box) == 4
        assert all(type(v) is int for v in box)
        x1, y1, x2, y2 = box
        assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
        bw, bh = x2 - x1, y2 - y1
        # int() truncates each side by < 1 pixel
        assert bw * bh <= 0.4 * h * w
        assert (bw + 1) * (bh + 1) >= 0.02 * h * w
        fracs.append(bw * bh / (h * w))
    assert 0.17 < np.mean(fracs) < 0.23  # uniform(0.02, 0.4) mean 0.21
    assert min(fracs) < 0.06 and max(fracs) > 0.3


def test_cutmix_box_reproducible_and_unimatch_draws():
    h, w = 50, 50
    t = GenerateCutMixBox(prob=1.0)
    np.random.seed(4)
    box = t(_results(np.zeros((h, w, 3), np.uint8)))['cutmix_box']
    # replay UniMatch's obtain_cutmix_box with the same numpy stream
    np.random.seed(4)
    np.random.rand()
    size = np.random.uniform(0.02, 0.4) * h * w
    while True:
        ratio = np.random.uniform(0.3, 1 / 0.3)
        cw, ch = int(np.sqrt(size / ratio)), int(np.sqrt(size * ratio))
        x, y = np.random.randint(0, w), np.random.randint(0, h)
        if x + cw <= w and y + ch <= h:
            break
    assert box == (x, y, x + cw, y + ch)


def test_cutmix_box_fallback_for_thin_image():
    t = GenerateCutMixBox(prob=1.0, max_attempts=5)
    np.random.seed(0)
    for _ in range(20):
        x1, y1, x2, y2 = t(_results(np.zeros((1, 500, 3),
                                             np.uint8)))['cutmix_box']
        assert 0 <= x1 < x2 <= 500 and (y1, y2) == (0, 1)


def test_cutmix_box_mask():
    mask = cutmix_box_mask((2, 3, 7, 5), 10, 10)
    assert mask.dtype == bool and mask.shape == (10, 10)
    assert mask.sum() == (7 - 2) * (5 - 3)
    assert mask[3, 2] and mask[4, 6] and not mask[5, 7] and not mask[2, 2]
    assert not cutmix_box_mask(None, 4, 6).any()
    assert cutmix_box_mask((0, 0, 6, 4), 4, 6).all()
    assert cutmix_box_mask((-3, 2, 20, 3), 4, 6).sum() == 6  # clipped
    with pytest.raises(ValueError):
        cutmix_box_mask((1, 2, 3), 4, 4)
    np.random.seed(1)
    t = GenerateCutMixBox(prob=1.0)
    x1, y1, x2, y2 = t(_results(np.zeros((30, 40, 3),
                                         np.uint8)))['cutmix_box']
    assert cutmix_box_mask((x1, y1, x2, y2), 30,
                           40).sum() == (x2 - x1) * (y2 - y1)


def test_meta_keys_and_repr():
    from mmseg.datasets.transforms import PackSegInputs
    assert STRONG_META_KEYS == tuple(PackSegInputs().meta_keys) + (
        'cutmix_box', )
    assert repr(RandomColorJitter(0.4, 0.4, 0.4, 0.1, prob=0.8)) == (
        'RandomColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, '
        'hue=0.1, prob=0.8)')
    assert repr(RandomGrayscale()) == 'RandomGrayscale(prob=0.2)'
    assert repr(RandomGaussianBlur()) == (
        'RandomGaussianBlur(sigma_range=(0.1, 2.0), prob=0.5, '
        'kernel_size=None)')
    r = repr(GenerateCutMixBox())
    assert r.startswith('GenerateCutMixBox(prob=0.5, area_range=(0.02, 0.4)'
                        ', aspect_range=(0.3, 3.33')
    assert set(T.__all__) >= {
        'RandomColorJitter', 'RandomGrayscale', 'RandomGaussianBlur',
        'GenerateCutMixBox', 'cutmix_box_mask', 'STRONG_META_KEYS'
    }


def test_registry_build():
    from mmengine.registry import init_default_scope
    init_default_scope('semiseg_mm')
    t = TRANSFORMS.build(dict(type='RandomColorJitter', hue=0.1))
    assert isinstance(t, RandomColorJitter) and t.hue == 0.1
    assert TRANSFORMS.get('GenerateCutMixBox') is GenerateCutMixBox


def test_pipeline_through_mmseg(tmp_path):
    from mmcv.transforms import Compose
    from mmengine.registry import init_default_scope
    init_default_scope('semiseg_mm')
    img = _rand_img(24, 32)
    seg = (np.arange(24 * 32) % 5).astype(np.uint8).reshape(24, 32)
    cv2.imwrite(str(tmp_path / 'a.png'), img)
    cv2.imwrite(str(tmp_path / 'a_seg.png'), seg)
    pipeline = Compose([
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='RandomColorJitter', prob=1.0),
        dict(type='RandomGrayscale', prob=1.0),
        dict(type='RandomGaussianBlur', prob=1.0),
        dict(type='GenerateCutMixBox', prob=1.0),
        dict(type='PackSegInputs', meta_keys=STRONG_META_KEYS),
    ])
    np.random.seed(0)
    out = pipeline(
        dict(
            img_path=str(tmp_path / 'a.png'),
            seg_map_path=str(tmp_path / 'a_seg.png'),
            reduce_zero_label=False,
            seg_fields=[]))
    sample = out['data_samples']
    box = sample.metainfo['cutmix_box']
    x1, y1, x2, y2 = box
    assert 0 <= x1 < x2 <= 32 and 0 <= y1 < y2 <= 24
    inputs = out['inputs']
    assert tuple(inputs.shape) == (3, 24, 32)
    assert (inputs[0] == inputs[1]).all() and (inputs[1] == inputs[2]).all()
    np.testing.assert_array_equal(sample.gt_sem_seg.data[0].numpy(), seg)
    # mmseg's default meta_keys drop the box
    default = Compose([
        dict(type='LoadImageFromFile'),
        dict(type='GenerateCutMixBox', prob=1.0),
        dict(type='PackSegInputs'),
    ])(dict(img_path=str(tmp_path / 'a.png')))
    assert 'cutmix_box' not in default['data_samples'].metainfo


def test_transforms_do_not_mutate_input_array():
    img = _rand_img()
    before = copy.deepcopy(img)
    np.random.seed(0)
    for t in (RandomColorJitter(prob=1.0), RandomGrayscale(prob=1.0),
              RandomGaussianBlur(prob=1.0)):
        t(_results(img))
    np.testing.assert_array_equal(img, before)
