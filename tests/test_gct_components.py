"""Unit tests of GCT's building blocks (Ke et al., ECCV 2020; PixelSSL)."""
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from semiseg_mm.models.heads import FlawDetector, IBNorm
from semiseg_mm.models.losses import (dynamic_consistency_loss,
                                      dynamic_consistency_masks,
                                      flaw_correction_loss,
                                      flaw_correction_mask,
                                      flaw_detector_loss, flaw_distance,
                                      flaw_target, gaussian_blur,
                                      gaussian_kernel1d, gaussian_sigma,
                                      odd_kernel_size, process_flaw_map)
from semiseg_mm.registry import MODELS

torch.set_num_threads(1)


# ----------------------------------------------------------------- IBNorm
def test_ibnorm_splits_channels():
    norm = IBNorm(5)
    assert norm.bnorm.num_features == 2 and norm.bnorm.affine
    assert norm.inorm.num_features == 3 and not norm.inorm.affine
    assert norm.inorm.weight is None
    # only the BN half has parameters
    assert sum(p.numel() for p in norm.parameters()) == 2 * 2

    torch.manual_seed(0)
    x = torch.randn(3, 5, 6, 7) * 4 + torch.arange(3.).view(3, 1, 1, 1) * 10
    with torch.no_grad():
        norm.bnorm.weight.fill_(2.)
        norm.bnorm.bias.fill_(3.)
    y = norm.train()(x)
    assert y.shape == x.shape
    # IN half: every sample/channel has zero mean and unit variance
    in_y = y[:, 2:]
    assert torch.allclose(in_y.mean(dim=(2, 3)), torch.zeros(3, 3),
                          atol=1e-5)
    assert torch.allclose(
        in_y.var(dim=(2, 3), unbiased=False), torch.ones(3, 3), atol=1e-3)
    # BN half: statistics over the batch, affine applied
    bn_y = y[:, :2]
    assert torch.allclose(bn_y.mean(dim=(0, 2, 3)), torch.full((2, ), 3.),
                          atol=1e-5)
    assert torch.allclose(
        bn_y.std(dim=(0, 2, 3), unbiased=False), torch.full((2, ), 2.),
        atol=1e-3)
    # ... so per-sample means differ (samples were shifted by 0/10/20)
    per_sample = bn_y.mean(dim=(2, 3))
    assert (per_sample[2] - per_sample[0]).min() > 1.
    # the BN half equals a plain BatchNorm2d on those channels
    ref = nn.BatchNorm2d(2)
    with torch.no_grad():
        ref.weight.fill_(2.)
        ref.bias.fill_(3.)
    assert torch.allclose(bn_y, ref(x[:, :2]), atol=1e-5)


# ----------------------------------------------------------- FlawDetector
@pytest.mark.parametrize('in_channels', [24, 6])
def test_flaw_detector_parameter_count(in_channels):
    fd = FlawDetector(in_channels=in_channels)
    n = sum(p.numel() for p in fd.parameters())
    assert n == 8_269_441 + 1_024 * in_channels


def test_flaw_detector_registered_and_shapes():
    fd = MODELS.build(dict(type='FlawDetector', in_channels=3 + 4))
    assert isinstance(fd, FlawDetector)
    assert fd.feature_sizes(64) == [32, 16, 15, 7, 6, 3, 2, 1]
    for h, w in [(64, 64), (96, 96), (64, 96)]:
        image = torch.randn(2, 3, h, w)
        probs = torch.randn(2, 4, h, w).softmax(dim=1)
        out = fd(image, probs)
        assert out.shape == (2, 1, h, w)
    fd.eval()
    with torch.no_grad():
        assert fd(torch.randn(1, 3, 64, 64),
                  torch.rand(1, 4, 64, 64)).shape == (1, 1, 64, 64)
        # the classifier output is upsampled as PixelSSL does
        # (align_corners=True): corners equal the coarse map's corners
        image, probs = torch.randn(1, 3, 96, 96), torch.rand(1, 4, 96, 96)
        x = torch.cat((image, probs), 1)
        for conv, norm in zip(fd.convs, fd.norms):
            x = fd.act(norm(conv(x)))
        coarse = fd.classifier(x)
        assert coarse.shape[-2:] == (2, 2)
        out = fd(image, probs)
        assert torch.allclose(out, F.interpolate(
            coarse, size=(96, 96), mode='bilinear', align_corners=True))
        assert torch.allclose(out[0, 0, 0, 0], coarse[0, 0, 0, 0])
        assert torch.allclose(out[0, 0, -1, -1], coarse[0, 0, -1, -1])


def test_flaw_detector_rejects_bad_inputs():
    fd = FlawDetector(in_channels=5)
    for h, w in [(63, 64), (64, 32), (32, 32)]:
        with pytest.raises(ValueError, match='at least 64x64'):
            fd(torch.randn(1, 3, h, w), torch.rand(1, 2, h, w))
    with pytest.raises(ValueError, match='input channels'):
        fd(torch.randn(1, 3, 64, 64), torch.rand(1, 3, 64, 64))
    with pytest.raises(ValueError, match='spatial size'):
        fd(torch.randn(1, 3, 64, 64), torch.rand(1, 2, 32, 32))
    # a lower min_input_size still refuses sizes with empty feature maps
    small = FlawDetector(in_channels=5, min_input_size=1)
    with pytest.raises(ValueError, match='too small'):
        small(torch.randn(1, 3, 32, 32), torch.rand(1, 2, 32, 32))
    with pytest.raises(ValueError):
        FlawDetector(in_channels=5, channels=(8, 8), strides=(2, ))


def test_flaw_correction_gradient_through_frozen_detector():
    fd = FlawDetector(in_channels=3 + 2)
    fd.requires_grad_(False)
    logits = torch.randn(1, 2, 64, 64, requires_grad=True)
    flaw = fd(torch.randn(1, 3, 64, 64), logits.softmax(dim=1))
    mask = torch.ones_like(flaw)
    flaw_correction_loss(flaw, mask).backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0
    assert all(p.grad is None for p in fd.parameters())


# ------------------------------------------------------------ Gaussian blur
@pytest.mark.parametrize('crop,expected', [
    (96, (13, 25, 7)),
    (321, (41, 81, 21)),
    (513, (65, 129, 33)),
])
def test_odd_kernel_size(crop, expected):
    got = tuple(odd_kernel_size(crop, d) for d in (8, 4, 16))
    assert got == expected


def test_gaussian_sigma():
    assert gaussian_sigma(41) == pytest.approx(6.5)
    assert gaussian_sigma(3) == pytest.approx(0.8)
    assert gaussian_sigma(7) == pytest.approx(1.4)


def folded_kernel1d(k):
    """PixelSSL's kernel, independently: scipy's gaussian_filter of a
    delta is a correlation of the delta, extended by symmetric reflection
    (numpy's 'symmetric' = scipy's 'reflect'), with the normalised
    Gaussian of radius int(4 sigma + 0.5)."""
    import numpy as np
    sigma = 0.3 * ((k - 1) * 0.5 - 1) + 0.8
    r = int(4 * sigma + 0.5)
    w = np.exp(-np.arange(-r, r + 1)**2 / (2 * sigma**2))
    w /= w.sum()
    delta = np.zeros(k)
    delta[k // 2] = 1
    padded = np.pad(delta, r, mode='symmetric')
    return torch.tensor([float(w @ padded[p:p + 2 * r + 1])
                         for p in range(k)], dtype=torch.float64)


def test_kernel_folds_its_tails_back_as_pixelssl():
    # k = 3 by hand: sigma 0.8, radius int(3.7) = 3; Gaussian weights
    # e^(-j^2 / 1.28) = 1, 0.457833, 0.043937, 0.000884 (j = 0..3), sum
    # 2.005307. Reflect (d c b a | a b c d) folds j = -2 and +1 onto the
    # left tap, j = 0 and +-3 onto the centre, j = -1 and +2 onto the right
    e = [math.exp(-j * j / 1.28) for j in range(4)]
    total = e[0] + 2 * (e[1] + e[2] + e[3])
    by_hand = [(e[2] + e[1]) / total, (e[0] + 2 * e[3]) / total,
               (e[1] + e[2]) / total]
    k3 = gaussian_kernel1d(3, dtype=torch.float64)
    assert k3.tolist() == pytest.approx(by_hand, abs=1e-12)
    assert k3.tolist() == pytest.approx([0.250221, 0.499558, 0.250221],
                                        abs=1e-6)
    # the plainly truncated kernel it replaces: 0.2390 / 0.5220 / 0.2390
    assert (e[1] / (e[0] + 2 * e[1])) == pytest.approx(0.238994, abs=1e-6)
    for k in (5, 7, 21, 41):
        assert torch.allclose(gaussian_kernel1d(k, dtype=torch.float64),
                              folded_kernel1d(k), atol=1e-12)
        assert gaussian_kernel1d(k).sum().item() == pytest.approx(1.0)


def test_gaussian_blur_constant_and_delta():
    const = torch.full((2, 1, 9, 11), 0.37)
    assert torch.allclose(gaussian_blur(const, 7), const, atol=1e-6)

    # delta in the middle of a large map -> the kernel itself, separable
    x = torch.zeros(1, 1, 41, 41, dtype=torch.float64)
    x[0, 0, 20, 20] = 1.
    y = gaussian_blur(x, 7)
    assert y.sum().item() == pytest.approx(1.0, abs=1e-12)
    k = folded_kernel1d(7)
    assert torch.allclose(y[0, 0, 17:24, 17:24], torch.outer(k, k))
    # bump is symmetric and nothing leaks beyond the kernel radius
    assert torch.allclose(y, y.flip(-1)) and torch.allclose(y, y.flip(-2))
    assert y[0, 0, 16].abs().max() == 0 and y[0, 0, :, 24].abs().max() == 0
    # kernel size 1 is the identity
    assert torch.equal(gaussian_blur(x, 1), x)


def test_gaussian_blur_reflection_padding_limit():
    with pytest.raises(ValueError, match=r'kernel size 13.*6x8'):
        gaussian_blur(torch.zeros(1, 1, 6, 8), 13)
    gaussian_blur(torch.zeros(1, 1, 7, 7), 13)  # pad 6 < 7 works
    with pytest.raises(ValueError):
        gaussian_blur(torch.zeros(1, 1, 8, 8), 4)


# -------------------------------------------------------------- C(.) target
def test_flaw_distance_by_hand():
    p1 = torch.tensor([[0.9, 0.2], [0.6, 0.5]])
    probs = torch.stack([1 - p1, p1]).unsqueeze(0)  # (1, 2, 2, 2)
    gt = torch.tensor([[[1, 0], [255, 1]]])
    d = flaw_distance(probs, gt)
    # 1 - p_y; the ignore pixel has an all-zero one-hot -> 0.5 * 1
    expected = torch.tensor([[[[0.1, 0.2], [0.5, 0.5]]]])
    assert d.shape == (1, 1, 2, 2)
    assert torch.allclose(d, expected, atol=1e-6)
    assert torch.allclose(flaw_distance(probs, gt.unsqueeze(1)), d)
    with pytest.raises(ValueError, match='labels'):
        flaw_distance(probs, torch.tensor([[[1, 2], [0, 1]]]))


def _reference_target(probs, gt, crop):
    """PixelSSL's FDGTGenerator written with full 2-D kernels."""
    num_classes = probs.shape[1]
    onehot = torch.zeros_like(probs)
    for c in range(num_classes):
        onehot[:, c] = (gt == c).float() * (gt != 255).float()
    d = 0.5 * (onehot - probs).abs().sum(dim=1, keepdim=True)

    def blur(x, k):
        g = folded_kernel1d(k)
        kernel = torch.outer(g, g).to(x.dtype)
        x = nn.ReflectionPad2d(k // 2)(x)
        return F.conv2d(x, kernel.view(1, 1, k, k))

    d = blur(d, odd_kernel_size(crop, 8))
    d = nn.Sequential(nn.ReflectionPad2d(1), nn.MaxPool2d(3, stride=1))(d)
    d = blur(d, odd_kernel_size(crop, 4))
    dmax = d.amax(dim=(1, 2, 3), keepdim=True)
    dmin = d.amin(dim=(1, 2, 3), keepdim=True)
    return (d - dmin) / (dmax - dmin)


def test_flaw_target_normalised_and_matches_reference():
    torch.manual_seed(1)
    probs = torch.randn(2, 3, 24, 20, dtype=torch.float64).softmax(dim=1)
    gt = torch.randint(0, 3, (2, 24, 20))
    gt[:, :3] = 255
    target = flaw_target(probs, gt, crop_size=64)  # kernels 9 and 17
    assert target.shape == (2, 1, 24, 20)
    flat = target.flatten(1)
    assert target.dtype == torch.float64
    assert flat.min(dim=1)[0].tolist() == [0.0, 0.0]
    assert flat.max(dim=1)[0].tolist() == pytest.approx([1.0, 1.0])
    assert torch.allclose(target, _reference_target(probs, gt, 64))


def test_flaw_target_constant_gives_zeros_and_keeps_autograd():
    probs = torch.full((2, 2, 16, 16), 0.5)
    gt = torch.full((2, 16, 16), 255)
    gt[1, 8:, :] = 0  # sample 1: 0.5 everywhere as well (p_y = 0.5)
    out = flaw_target(probs, gt, crop_size=64)
    assert torch.equal(out, torch.zeros(2, 1, 16, 16))

    logits = torch.randn(1, 2, 16, 16, requires_grad=True)
    out = flaw_target(logits.softmax(1), torch.zeros(1, 16, 16).long(), 64)
    assert out.requires_grad
    out.sum().backward()
    assert logits.grad is not None


# ------------------------------------------------------------ flaw handler
def test_process_flaw_map_clears_small_maps():
    flaw = torch.rand(3, 1, 8, 8) * 0.05
    flaw[1] = torch.linspace(-1, 0.05, 64).view(1, 8, 8)
    flaw[2] = torch.linspace(-0.3, 2.0, 64).view(1, 8, 8)
    out = process_flaw_map(flaw, crop_size=64)  # kernel 5
    assert torch.equal(out[:2], torch.zeros(2, 1, 8, 8))  # not negative
    assert out[2].min().item() == pytest.approx(0.0, abs=1e-7)
    assert out[2].max().item() == pytest.approx(1.0, abs=1e-7)


def test_process_flaw_map_threshold_is_inclusive():
    # crop 16 -> kernel 1 (no blur), so the threshold is exact
    flaw = torch.zeros(2, 1, 4, 4)
    flaw[0, 0, 1, 1] = 0.1
    flaw[1, 0, 1, 1] = 0.1001
    flaw[1, 0, 2, 2] = -5.0  # clamped to 0
    out = process_flaw_map(flaw, crop_size=16)
    assert torch.equal(out[0], torch.zeros(1, 4, 4))
    expected = torch.zeros(1, 4, 4)
    expected[0, 1, 1] = 1.
    assert torch.allclose(out[1], expected)


# ------------------------------------------------------------- DC and FC
def test_dynamic_consistency_masks():
    xi = 0.6
    flaw1 = torch.tensor([[[[0.5, 0.2, 0.3], [0.7, 0.9, 0.55]]]])
    flaw2 = torch.tensor([[[[0.3, 0.4, 0.3], [0.8, 0.2, 0.6]]]])
    # (0,0) f1 > f2: model 1 learns; (0,1) f1 < f2: model 2 learns;
    # (0,2) tie: neither; (1,0) both > xi -> 1 vs 1: neither;
    # (1,1) 0.9 -> 1 vs 0.2: model 1; (1,2) 0.55 vs 0.6 -> 1: model 2
    mask1, mask2 = dynamic_consistency_masks(flaw1, flaw2, xi)
    assert mask1.dtype == torch.float32 and mask1.shape == (1, 1, 2, 3)
    assert torch.equal(mask1, torch.tensor([[[[1., 0., 0.], [0., 1., 0.]]]]))
    assert torch.equal(mask2, torch.tensor([[[[0., 1., 0.], [0., 0., 1.]]]]))
    assert (mask1 * mask2).sum() == 0
    # exactly at xi is not hopeless (PixelSSL: bad when > xi): 0.6 vs 0.9
    # (-> 1): model 2 is the more flawed and learns from model 1; with
    # '>= xi' both would count as 1, a tie with no DC
    at_xi = torch.tensor([[[[0.6]]]])
    worse = torch.tensor([[[[0.9]]]])
    m1, m2 = dynamic_consistency_masks(at_xi, worse, xi)
    assert (m1.item(), m2.item()) == (0.0, 1.0)
    assert flaw_correction_mask(at_xi, worse, xi).item() == 0.0


def test_flaw_correction_mask():
    flaw1 = torch.tensor([[[[0.7, 0.6, 0.9], [0.61, 0.1, 1.0]]]])
    flaw2 = torch.tensor([[[[0.8, 0.6, 0.5], [0.7, 0.95, 0.65]]]])
    mask = flaw_correction_mask(flaw1, flaw2, xi=0.6)
    assert torch.equal(mask, torch.tensor([[[[1., 0., 0.], [1., 0., 1.]]]]))


def test_dynamic_consistency_loss_value_and_gradients():
    pk = torch.tensor([[[[0.8, 0.3]], [[0.2, 0.7]]]], requires_grad=True)
    po = torch.tensor([[[[0.6, 0.1]], [[0.4, 0.9]]]], requires_grad=True)
    mask = torch.tensor([[[[1., 0.]]]])
    loss = dynamic_consistency_loss(pk, po, mask)
    # masked pixel: (0.8-0.6)^2 + (0.2-0.4)^2 = 0.08, over 4 elements
    assert loss.item() == pytest.approx(0.02)
    loss.backward()
    assert po.grad is None
    expected = torch.tensor([[[[0.1, 0.]], [[-0.1, 0.]]]])  # 2 * diff / 4
    assert torch.allclose(pk.grad, expected)

    logits_k = torch.randn(2, 3, 4, 4, requires_grad=True)
    logits_o = torch.randn(2, 3, 4, 4, requires_grad=True)
    m = (torch.rand(2, 1, 4, 4) > 0.5).float()
    dynamic_consistency_loss(logits_k.softmax(1), logits_o.softmax(1),
                             m).backward()
    assert logits_o.grad is None
    assert logits_k.grad.abs().sum() > 0
    # unmasked pixels get no gradient
    assert logits_k.grad.mul(1 - m).abs().sum() == 0


def test_flaw_correction_and_detector_losses():
    flaw = torch.tensor([[[[0.5, -1.0], [2.0, 0.3]]]], requires_grad=True)
    mask = torch.tensor([[[[1., 0.], [1., 1.]]]])
    loss = flaw_correction_loss(flaw, mask)
    assert loss.item() == pytest.approx((0.25 + 4 + 0.09) / 4)
    loss.backward()
    assert torch.allclose(flaw.grad,
                          torch.tensor([[[[0.25, 0.], [1.0, 0.15]]]]))

    pred = torch.tensor([[[[0.5, 1.0]]]], requires_grad=True)
    target = torch.tensor([[[[0.0, 0.5]]]])
    loss = flaw_detector_loss(pred, target)
    assert loss.item() == pytest.approx((0.25 + 0.25) / 2)
    loss.backward()
    assert torch.allclose(pred.grad, torch.tensor([[[[0.5, 0.5]]]]))
