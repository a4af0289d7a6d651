"""Domain-adaptation building blocks against hand-computed values: the
entropy map and MinEnt, the FCDiscriminator, the adversarial losses, the
class-ratio prior and its statistics file."""
import json
import math

import pytest
import torch
import torch.nn.functional as F

from semiseg_mm.models.losses.uda import (SOURCE_LABEL, TARGET_LABEL,
                                          AdversarialLoss,
                                          class_ratio_prior_loss,
                                          entropy_map, load_class_stats,
                                          minent_loss)
from semiseg_mm.registry import MODELS


def crafted_probs():
    """(1, 4, 1, 3): a uniform pixel, a certain one, and (0.5, 0.5, 0, 0)."""
    p = torch.tensor([[0.25, 0.25, 0.25, 0.25], [1.0, 0.0, 0.0, 0.0],
                      [0.5, 0.5, 0.0, 0.0]])
    return p.t().reshape(1, 4, 1, 3)


def test_entropy_map_by_hand():
    ent = entropy_map(crafted_probs())
    # C = 4, log2(C) = 2. uniform: -0.25 * log2(0.25) / 2 = 0.25 per class;
    # certain: 0 (log2(1 + 1e-30) = 0 and 0 * log2(1e-30) = 0);
    # (0.5, 0.5, 0, 0): -0.5 * log2(0.5) / 2 = 0.25 for the two, 0 else
    expected = torch.tensor([[0.25, 0.25, 0.25, 0.25], [0.0, 0.0, 0.0, 0.0],
                             [0.25, 0.25, 0.0, 0.0]]).t().reshape(1, 4, 1, 3)
    assert torch.allclose(ent, expected, atol=1e-7)
    # summed over classes: the normalised entropy 1, 0, 0.5
    assert torch.allclose(ent.sum(1).flatten(), torch.tensor([1.0, 0, 0.5]))
    with pytest.raises(ValueError, match='>= 2 classes'):
        entropy_map(torch.ones(1, 1, 2, 2))


def test_minent_loss_by_hand():
    p = crafted_probs()
    assert minent_loss(p).item() == pytest.approx((1.0 + 0 + 0.5) / 3)
    # padding excluded: only the first two pixels count
    valid = torch.tensor([[[True, True, False]]])
    assert minent_loss(p, valid).item() == pytest.approx(0.5)
    # it pulls a soft prediction towards its mode
    logits = torch.tensor([[[[0.3]], [[0.0]]]], requires_grad=True)
    minent_loss(logits.softmax(1)).backward()
    assert logits.grad[0, 0] < 0 < logits.grad[0, 1]


def test_fc_discriminator_size_and_parameters():
    for c in (19, 16, 6):
        d = MODELS.build(dict(type='FCDiscriminator', in_channels=c))
        n = sum(p.numel() for p in d.parameters())
        assert n == 2_761_665 + 1_024 * c
    d = MODELS.build(dict(type='FCDiscriminator', in_channels=6))
    # five stride-2 convs (k 4, p 1): 64 -> 32 -> 16 -> 8 -> 4 -> 2
    assert d(torch.rand(2, 6, 64, 64)).shape == (2, 1, 2, 2)
    # ADVENT's 1024 x 512 target crops give a 32 x 16 map of logits
    small = MODELS.build(
        dict(type='FCDiscriminator', in_channels=2, base_channels=2))
    assert small(torch.rand(1, 2, 512, 1024)).shape == (1, 1, 16, 32)
    # LeakyReLU(0.2) and no sigmoid: outputs are unbounded logits
    acts = [m for m in d.modules() if isinstance(m, torch.nn.LeakyReLU)]
    assert len(acts) == 4 and all(a.negative_slope == 0.2 for a in acts)
    with pytest.raises(ValueError, match=r'expects \(N, 6, H, W\)'):
        d(torch.rand(1, 5, 64, 64))


def test_adversarial_losses_by_hand():
    d_out = torch.tensor([[[[0.0, 2.0]]]])
    vanilla = AdversarialLoss('vanilla')
    # BCE with logits against label 1: mean(log(1 + e^-x))
    expected = (math.log(2) + math.log(1 + math.exp(-2))) / 2
    assert vanilla(d_out, TARGET_LABEL).item() == pytest.approx(expected)
    # against 0: mean(log(1 + e^x))
    expected = (math.log(2) + math.log(1 + math.exp(2))) / 2
    assert vanilla(d_out, SOURCE_LABEL).item() == pytest.approx(expected)
    ls = AdversarialLoss('lsgan')
    assert ls(d_out, TARGET_LABEL).item() == pytest.approx((1 + 1) / 2)
    assert ls(d_out, SOURCE_LABEL).item() == pytest.approx((0 + 4) / 2)
    assert SOURCE_LABEL == 0 and TARGET_LABEL == 1
    with pytest.raises(ValueError, match="one of \\('vanilla', 'lsgan'\\)"):
        AdversarialLoss('wgan')


def test_class_ratio_prior():
    # two classes, source shares (0.8, 0.2), mu = 0.5 -> floors (0.4, 0.1)
    ratio = torch.tensor([0.8, 0.2])
    ok = torch.tensor([0.7, 0.3]).view(1, 2, 1, 1).expand(1, 2, 2, 2)
    assert class_ratio_prior_loss(ok, ratio).item() == 0.0
    # class 1 at 0.04 < 0.1: loss 0.1 - 0.04 = 0.06, class 0 above its floor
    logits = torch.log(torch.tensor([0.96, 0.04])).view(1, 2, 1, 1).repeat(
        1, 1, 2, 2).requires_grad_()
    loss = class_ratio_prior_loss(logits.softmax(1), ratio)
    assert loss.item() == pytest.approx(0.06, abs=1e-6)
    loss.backward()
    # gradient descent raises the missing class's logit
    assert (logits.grad[:, 1] < 0).all() and (logits.grad[:, 0] > 0).all()
    # per image, then averaged; padding excluded
    probs = torch.stack([ok[0], F.one_hot(torch.zeros(2, 2).long(),
                                          2).permute(2, 0, 1).float()])
    assert class_ratio_prior_loss(probs, ratio).item() == pytest.approx(
        (0 + 0.1) / 2)
    # one image: class 1 at pixel (0, 0) only, a share of 0.25 >= 0.1;
    # with that pixel counted as padding class 1 is missing (loss 0.1)
    img = torch.zeros(1, 2, 2, 2)
    img[0, 0] = 1
    img[0, :, 0, 0] = torch.tensor([0.0, 1.0])
    assert class_ratio_prior_loss(img, ratio).item() == 0.0
    valid = torch.ones(1, 2, 2, dtype=torch.bool)
    valid[0, 0, 0] = False
    assert class_ratio_prior_loss(img, ratio, valid=valid).item() == \
        pytest.approx(0.1)
    with pytest.raises(ValueError, match='3 source ratios for 2 classes'):
        class_ratio_prior_loss(ok, torch.ones(3))


def test_class_stats_file_errors(tmp_path):
    path = tmp_path / 'stats.json'
    with pytest.raises(FileNotFoundError,
                       match=r'class_prior.file: source class statistics .* '
                       r'do not exist; write them with .*source_class_stats'):
        load_class_stats(str(path))
    path.write_text('{')
    with pytest.raises(ValueError, match='is not JSON'):
        load_class_stats(str(path))
    path.write_text(json.dumps({'counts': [1, 2]}))
    with pytest.raises(ValueError, match="no 'ratio' list"):
        load_class_stats(str(path))
    path.write_text(json.dumps({'classes': ['a', 'b'], 'ratio': [0.3, 0.7]}))
    assert load_class_stats(str(path), ['a', 'b']).tolist() == pytest.approx(
        [0.3, 0.7])
    with pytest.raises(ValueError, match=r"classes \['a', 'b'\], but the "
                       r"model's dataset has \['a', 'c'\]"):
        load_class_stats(str(path), ['a', 'c'])
