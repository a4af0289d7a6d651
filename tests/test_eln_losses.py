"""ELN's losses against hand-computed values and brute-force references
written like the official code (one class at a time)."""
import math

import pytest
import torch
import torch.nn.functional as F

from semiseg_mm.models.losses import (class_contrastive_loss,
                                      constrained_ce,
                                      cropped_class_contrastive_loss,
                                      eln_inputs, eln_loss, eln_target,
                                      entropy, random_crop_windows,
                                      same_class_mask, similarity_logits)


# ---------------------------------------------------------------------- #
# the ELN input and target
# ---------------------------------------------------------------------- #
def test_entropy_is_natural_log_shannon_entropy():
    logits = torch.tensor([[0.0, 0.0], [10.0, -10.0]]).t().reshape(1, 2, 1, 2)
    h = entropy(logits)
    assert h[0, 0, 0] == pytest.approx(math.log(2))
    assert h[0, 0, 1] == pytest.approx(0.0, abs=1e-6)


def test_eln_inputs_stack_image_entropy_and_upsampled_detached_logits():
    images = torch.randn(2, 3, 8, 8)
    logits = torch.randn(2, 4, 4, 4, requires_grad=True)
    x = eln_inputs(images, logits)
    assert x.shape == (2, 3 + 1 + 4, 8, 8)
    assert torch.equal(x[:, :3], images)
    up = F.interpolate(logits.detach(), size=(8, 8), mode='bilinear',
                       align_corners=True)
    assert torch.allclose(x[:, 4:], up)
    assert torch.allclose(x[:, 3], entropy(up))
    assert not x.requires_grad


def test_eln_target_counts_ignore_pixels_as_errors():
    # argmax [[0, 1], [1, 0]]
    logits = torch.tensor([[[2.0, 0.0], [0.0, 2.0]],
                           [[0.0, 2.0], [2.0, 0.0]]])[None]
    labels = torch.tensor([[[0, 1], [0, 255]]])
    assert eln_target(logits, labels).tolist() == [[[1.0, 1.0], [0.0, 0.0]]]


def _official_eln_loss(eln_logits, seg_logits, labels):
    """The official corrector_loss, step by step."""
    target = torch.where(seg_logits.argmax(1) == labels, 1.0, 0.0)
    loss = F.binary_cross_entropy_with_logits(eln_logits, target[:, None],
                                              reduction='none')
    zero = loss.squeeze(1)[target == 0].numel()
    one = loss.squeeze(1)[target == 1].numel()
    loss.squeeze(1)[target == 0] *= one / zero
    return loss.mean()


def test_eln_loss_reweights_error_pixels_by_correct_over_error():
    labels = torch.tensor([[[0, 1], [0, 0]]])
    seg = torch.zeros(1, 2, 2, 2)
    seg[0, 0] = 1.0  # predicts 0 everywhere: 3 correct, 1 error
    zeros = torch.zeros(1, 1, 2, 2)  # BCE = ln 2 on every pixel
    # weights 1, 3 (error, x #correct/#error = 3), 1, 1
    assert eln_loss(zeros, seg, labels) == pytest.approx(
        math.log(2) * 6 / 4)
    # no error pixel: plain mean; no correct pixel: errors weigh 0
    assert eln_loss(zeros, seg, torch.zeros_like(labels)) == pytest.approx(
        math.log(2))
    assert eln_loss(zeros, seg, torch.ones_like(labels)) == 0.0
    g = torch.Generator().manual_seed(0)
    e = torch.randn(2, 1, 6, 6, generator=g)
    s = torch.randn(2, 3, 6, 6, generator=g)
    lab = torch.randint(0, 3, (2, 6, 6), generator=g)
    lab[0, 0, :3] = 255
    assert eln_loss(e, s, lab) == pytest.approx(
        float(_official_eln_loss(e, s, lab)), rel=1e-6)


def test_eln_loss_trains_the_eln_only():
    e = torch.zeros(1, 1, 4, 4, requires_grad=True)
    s = torch.randn(1, 3, 2, 2, requires_grad=True)  # upsampled inside
    eln_loss(e, s, torch.randint(0, 3, (1, 4, 4))).backward()
    assert e.grad.abs().sum() > 0 and s.grad is None


def test_constrained_ce_switches_off_when_the_aux_decoder_gets_too_good():
    main = torch.tensor(0.2)
    bad = torch.tensor(5.0, requires_grad=True)  # 5 >= 20 x 0.2: trains
    out = constrained_ce(bad, main, alpha=20)
    out.backward()
    assert out == 5.0 and bad.grad == 1.0
    good = torch.tensor(3.0, requires_grad=True)  # 3 < 4: off, no gradient
    out = constrained_ce(good, main, alpha=20)
    out.backward()
    assert out == 0.0 and good.grad == 0.0
    assert constrained_ce(torch.tensor(9.9), main, alpha=50) == 0.0
    assert constrained_ce(torch.tensor(10.0), main, alpha=50) == 10.0
    with pytest.raises(ValueError, match='alpha'):
        constrained_ce(bad, main, alpha=0)


# ---------------------------------------------------------------------- #
# the contrastive core and ELN's per-class loss
# ---------------------------------------------------------------------- #
def test_core_similarities_and_pair_masks():
    a = torch.tensor([[2.0, 0.0], [0.0, 3.0]])
    k = torch.tensor([[1.0, 1.0]])
    assert torch.allclose(similarity_logits(a, k, 0.5),
                          torch.tensor([[2 ** 0.5], [2 ** 0.5]]))
    pos, neg = same_class_mask(torch.tensor([0, 1, -1]),
                               torch.tensor([0, 0, 1]))
    assert pos.tolist() == [[True, True, False], [False, False, True],
                            [False, False, False]]
    assert neg.tolist() == [[False, False, True], [True, True, False],
                            [False, False, False]]
    with pytest.raises(ValueError, match='tau'):
        similarity_logits(a, k, 0.0)


def test_class_contrastive_loss_hand_computed():
    # two orthogonal pixels of two classes, keys = anchors, tau 0.5:
    # per class -log(e^2 / (e^2 + e^0)) / 1 = log(1 + e^-2)
    f = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    loss = class_contrastive_loss(f, f, torch.tensor([0, 1]), tau=0.5)
    assert loss == pytest.approx(math.log(1 + math.exp(-2)))
    # three pixels: class 0 has two anchors (1, 0) and (1, 1)
    f = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    c = 1 / math.sqrt(2)
    e = lambda x: math.exp(x / 0.5)  # noqa: E731
    s_pos0 = e(1) + e(c) + e(c) + e(1)
    s_neg0 = e(0) + e(c)
    s_pos1, s_neg1 = e(1), e(0) + e(c)
    want = (-math.log(s_pos0 / (s_pos0 + s_neg0)) / 2 -
            math.log(s_pos1 / (s_pos1 + s_neg1)) / 1) / 2
    assert class_contrastive_loss(f, f, torch.tensor([0, 1, 0])) == \
        pytest.approx(want, rel=1e-6)


def _official_class_loss(anchors, keys, labels, tau):
    """batch_pixelwise_distanceloss of the official code, one class at a
    time (anchors n x d, keys n x d, labels n with 255 ignored)."""
    total, classes = 0.0, [c for c in labels.unique().tolist() if c != 255]
    for c in classes:
        a = anchors[labels == c]
        a = a / a.norm(dim=1, keepdim=True).clamp(min=1e-8)
        p = keys[labels == c].t()
        p = p / p.norm(dim=0, keepdim=True).clamp(min=1e-8)
        n = keys[(labels != c) & (labels != 255)].t()
        n = n / n.norm(dim=0, keepdim=True).clamp(min=1e-8)
        pos = torch.exp(a @ p / tau).sum().clamp(min=1e-8)
        neg = torch.exp(a @ n / tau).sum().clamp(min=1e-8)
        total += -torch.log(pos / (neg + pos)) / (labels == c).sum()
    return total / len(classes) if classes else 0.0


@pytest.mark.parametrize('tau', [0.5, 0.07])
def test_class_contrastive_loss_matches_the_official_loop(tau):
    g = torch.Generator().manual_seed(1)
    a = torch.randn(40, 16, generator=g)
    k = torch.randn(40, 16, generator=g)
    lab = torch.randint(0, 4, (40, ), generator=g)
    lab[:5] = 255
    ours = class_contrastive_loss(a, k, lab, tau)
    assert ours == pytest.approx(float(_official_class_loss(a, k, lab, tau)),
                                 rel=1e-5)


def test_class_contrastive_loss_with_own_key_labels_by_pairs():
    """Keys with their own labels (one class no anchor has, ignored keys),
    against a pair-by-pair loop; gradients too."""
    g = torch.Generator().manual_seed(6)
    a = torch.randn(9, 5, generator=g, dtype=torch.float64,
                    requires_grad=True)
    k = torch.randn(7, 5, generator=g, dtype=torch.float64)
    lab = torch.tensor([0, 0, 1, 1, 1, 255, 2, 0, 1])
    key_lab = torch.tensor([0, 1, 3, 255, 1, 0, 3])  # no key of class 2
    ours = class_contrastive_loss(a, k, lab, 0.5, key_labels=key_lab)

    def by_pairs():
        per_class = []
        for c in (0, 1, 2):
            s_pos = s_neg = 0.0
            for i in range(9):
                if lab[i] != c:
                    continue
                for j in range(7):
                    if key_lab[j] == 255:
                        continue
                    cos = F.cosine_similarity(a[i], k[j], dim=0)
                    if key_lab[j] == c:
                        s_pos = s_pos + torch.exp(cos / 0.5)
                    else:
                        s_neg = s_neg + torch.exp(cos / 0.5)
            if torch.is_tensor(s_pos):  # class 2 has no positive: left out
                n_c = int((lab == c).sum())
                per_class.append(-torch.log(s_pos / (s_pos + s_neg)) / n_c)
        return sum(per_class) / len(per_class)

    want = by_pairs()
    assert ours.item() == pytest.approx(want.item(), rel=1e-10)
    g_ours, = torch.autograd.grad(ours, a)
    g_want, = torch.autograd.grad(by_pairs(), a)
    assert torch.allclose(g_ours, g_want, rtol=1e-8, atol=1e-12)
    # anchors whose classes no key has: 0, with a gradient path
    none = class_contrastive_loss(a, k, torch.full((9, ), 2),
                                  key_labels=key_lab)
    assert none.item() == 0.0 and none.requires_grad


def test_class_contrastive_loss_ignores_scale_and_ignored_pixels():
    g = torch.Generator().manual_seed(2)
    a, k = torch.randn(12, 8, generator=g), torch.randn(12, 8, generator=g)
    lab = torch.randint(0, 3, (12, ), generator=g)
    ref = class_contrastive_loss(a, k, lab)
    assert class_contrastive_loss(7 * a, 0.1 * k, lab) == pytest.approx(
        float(ref), rel=1e-6)
    # an ignored pixel with any feature changes nothing
    a2 = torch.cat([a, 100 * torch.randn(1, 8, generator=g)])
    k2 = torch.cat([k, torch.randn(1, 8, generator=g)])
    lab2 = torch.cat([lab, torch.tensor([255])])
    assert class_contrastive_loss(a2, k2, lab2) == pytest.approx(
        float(ref), rel=1e-6)
    # nothing labelled: 0, and backward still works
    a3 = a.clone().requires_grad_()
    zero = class_contrastive_loss(a3, k, torch.full((12, ), 255))
    zero.backward()
    assert zero == 0.0 and torch.equal(a3.grad, torch.zeros_like(a))


def test_gradients_reach_the_anchors_only():
    g = torch.Generator().manual_seed(3)
    s = torch.randn(2, 8, 6, 6, generator=g, requires_grad=True)
    t = torch.randn(2, 8, 6, 6, generator=g, requires_grad=True)
    lab = torch.randint(0, 3, (2, 6, 6), generator=g)
    cropped_class_contrastive_loss(s, t, lab, crop_size=4, num_crops=2,
                                   generator=g).backward()
    assert s.grad.abs().sum() > 0 and t.grad is None


def test_crops_stay_inside_and_cover_small_maps():
    w = random_crop_windows(10, 7, 4, 50, torch.Generator().manual_seed(0))
    assert ((w[:, 0] + w[:, 2]) <= 10).all() and (
        (w[:, 1] + w[:, 3]) <= 7).all()
    assert (w[:, 2:] == 4).all()
    small = random_crop_windows(3, 5, 32, 2)
    assert small.tolist() == [[0, 0, 3, 5], [0, 0, 3, 5]]


def test_cropped_loss_is_the_mean_of_the_per_crop_losses():
    g = torch.Generator().manual_seed(4)
    s = torch.randn(2, 8, 12, 10, generator=g)
    t = torch.randn(2, 8, 12, 10, generator=g)
    lab = torch.randint(0, 3, (2, 24, 20), generator=g)  # full resolution
    lab[:, :4] = 255
    got = cropped_class_contrastive_loss(
        s, t, lab, tau=0.5, crop_size=5, num_crops=3,
        generator=torch.Generator().manual_seed(9))
    windows = random_crop_windows(12, 10, 5, 3,
                                  torch.Generator().manual_seed(9))
    small = F.interpolate(lab[:, None].float(), size=(12, 10),
                          mode='nearest')[:, 0].long()
    want = 0.0
    for top, left, h, w in windows.tolist():
        def flat(x):
            return x[..., top:top + h, left:left + w].permute(
                0, 2, 3, 1).reshape(-1, 8)
        want += _official_class_loss(
            flat(s), flat(t), small[:, top:top + h, left:left + w].reshape(-1),
            0.5)
    assert got == pytest.approx(float(want) / 3, rel=1e-5)
    # one crop covering the map: the whole-map loss
    whole = cropped_class_contrastive_loss(s, t, small, crop_size=64,
                                           num_crops=1)
    flat_all = class_contrastive_loss(
        s.permute(0, 2, 3, 1).reshape(-1, 8),
        t.permute(0, 2, 3, 1).reshape(-1, 8), small.reshape(-1))
    assert whole == pytest.approx(float(flat_all), rel=1e-6)


def test_repeated_crop_windows_are_computed_once(monkeypatch):
    """A map no larger than the crop makes every window the whole map: the
    loss computes it once and counts it num_crops times, with the value and
    gradient of the per-crop loop."""
    import semiseg_mm.models.losses.contrastive as contrastive
    g = torch.Generator().manual_seed(5)
    s = torch.randn(2, 8, 6, 6, generator=g, requires_grad=True)
    t = torch.randn(2, 8, 6, 6, generator=g)
    lab = torch.randint(0, 3, (2, 6, 6), generator=g)
    lab[0, :2] = 255
    want = class_contrastive_loss(
        s.permute(0, 2, 3, 1).reshape(-1, 8),
        t.permute(0, 2, 3, 1).reshape(-1, 8), lab.reshape(-1))
    want_grad, = torch.autograd.grad(want, s)
    calls = []
    inner = contrastive.class_contrastive_loss
    monkeypatch.setattr(contrastive, 'class_contrastive_loss',
                        lambda *a, **k: calls.append(1) or inner(*a, **k))
    got = cropped_class_contrastive_loss(s, t, lab, crop_size=32,
                                         num_crops=8)
    got_grad, = torch.autograd.grad(got, s)
    assert len(calls) == 1
    assert got.item() == pytest.approx(want.item(), rel=1e-6)
    assert torch.allclose(got_grad, want_grad, rtol=1e-5, atol=1e-8)
    # windows drawn twice among distinct ones count twice
    calls.clear()
    windows = torch.tensor([[0, 0, 3, 3], [2, 1, 3, 3], [0, 0, 3, 3]])
    monkeypatch.setattr(contrastive, 'random_crop_windows',
                        lambda *a, **k: windows)
    got = cropped_class_contrastive_loss(s, t, lab, crop_size=3,
                                         num_crops=3)
    assert len(calls) == 2

    def crop_loss(top, left):
        def flat(x):
            return x[..., top:top + 3, left:left + 3].permute(
                0, 2, 3, 1).reshape(-1, 8)
        return inner(flat(s), flat(t),
                     lab[:, top:top + 3, left:left + 3].reshape(-1))

    want = (2 * crop_loss(0, 0) + crop_loss(2, 1)) / 3
    assert got.item() == pytest.approx(want.item(), rel=1e-6)
