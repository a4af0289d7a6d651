"""The label-based pixel contrastive loss (Zhao et al., ICCV 2021) against
a brute-force reading of the official TensorFlow code, for each variant:
the cross-image negative rule, gradients, the pixel budget and the chunked
anchors."""
import math
import os.path as osp

import pytest
import torch

from semiseg_mm.models.losses import contrastive
from semiseg_mm.models.losses import pixel_contrast as pc
from semiseg_mm.models.losses.pixel_contrast import (PixelContrastiveLoss,
                                                     bag_losses,
                                                     sample_pixels)
from semiseg_mm.registry import MODELS


def brute_bag(feats, labels, tau, groups=None):
    """One bag, loops: for each labelled anchor p, the mean over its
    positives q (itself included) of -log(e_pq / (e_pq + sum_n e_pn)),
    negatives n of another label (and, with ``groups``, of p's group);
    the mean over anchors."""
    f = [v / v.norm() for v in feats]
    per_anchor = []
    for p in range(len(f)):
        if labels[p] < 0:
            continue
        terms = []
        for q in range(len(f)):
            if labels[q] != labels[p]:
                continue
            e_pq = math.exp(float(f[p] @ f[q]) / tau)
            s_neg = sum(
                math.exp(float(f[p] @ f[n]) / tau) for n in range(len(f))
                if labels[n] >= 0 and labels[n] != labels[p] and
                (groups is None or groups[n] == groups[p]))
            terms.append(-math.log(e_pq / (e_pq + s_neg)))
        per_anchor.append(sum(terms) / len(terms))
    return sum(per_anchor) / len(per_anchor) if per_anchor else 0.0


def pixels(x):
    """(N, D, h, w) -> per image the list of its pixel vectors."""
    n, d = x.shape[:2]
    return [list(x[i].reshape(d, -1).t()) for i in range(n)]


def tiny_case(seed=0, n=2, d=3, h=2, w=3, classes=3):
    g = torch.Generator().manual_seed(seed)
    fa = torch.randn(n, d, h, w, generator=g, dtype=torch.float64)
    fb = torch.randn(n, d, h, w, generator=g, dtype=torch.float64)
    la = torch.randint(0, classes, (n, h, w), generator=g)
    lb = torch.randint(0, classes, (n, h, w), generator=g)
    la[0, 0, 0] = 255  # ignored pixels take part in no pair
    lb[1, 1, 2] = 255
    return fa, la, fb, lb


def flat(lab):
    return [int(v) if int(v) != 255 else -1 for v in lab.reshape(-1)]


def test_within_image_is_the_sum_over_views_of_per_image_bags():
    fa, la, fb, lb = tiny_case()
    loss = PixelContrastiveLoss('within_image', tau=0.5, max_pixels=100)(
        fa, la, fb, lb)
    ref = sum(
        sum(brute_bag(pixels(f)[i], flat(lab[i]), 0.5)
            for i in range(2)) / 2 for f, lab in ((fa, la), (fb, lb)))
    assert float(loss) == pytest.approx(ref, rel=1e-9)
    # one view: that view's mean over images
    one = PixelContrastiveLoss('within_image', tau=0.5, max_pixels=100)(
        fa, la)
    assert float(one) == pytest.approx(
        sum(brute_bag(pixels(fa)[i], flat(la[i]), 0.5)
            for i in range(2)) / 2, rel=1e-9)


def shuffle_of(seed, n, hw):
    """The shuffle the loss draws after its two pixel draws."""
    g = torch.Generator().manual_seed(seed)
    torch.rand(n, hw, generator=g)
    torch.rand(n, hw, generator=g)
    return torch.randperm(n, generator=g).tolist()


def test_cross_image_pairs_each_image_with_a_shuffled_copy_and_own_negatives():
    fa, la, fb, lb = tiny_case(n=3)
    g = torch.Generator().manual_seed(7)
    loss = PixelContrastiveLoss('cross_image', tau=0.5, max_pixels=1000)(
        fa, la, fb, lb, generator=g)
    order = shuffle_of(7, 3, 6)
    ref, ref_all_negatives = [], []
    for i in range(3):
        feats = pixels(fa)[i] + pixels(fb)[order[i]]
        labels = flat(la[i]) + flat(lb[order[i]])
        groups = [0] * 6 + [1] * 6
        ref.append(brute_bag(feats, labels, 0.5, groups))
        ref_all_negatives.append(brute_bag(feats, labels, 0.5))
    assert float(loss) == pytest.approx(sum(ref) / 3, rel=1e-9)
    # the rule matters on this case: negatives from the other image too
    # would give another value
    assert abs(sum(ref_all_negatives) / 3 - sum(ref) / 3) > 1e-3
    with pytest.raises(ValueError, match='needs two views'):
        PixelContrastiveLoss('cross_image')(fa, la)


def test_batch_variant_is_one_bag_of_every_pixel():
    fa, la, fb, lb = tiny_case()
    loss = PixelContrastiveLoss('batch', tau=0.07, max_pixels=1000)(
        fa, la, fb, lb)
    feats = sum(pixels(fa), []) + sum(pixels(fb), [])
    labels = flat(la[0]) + flat(la[1]) + flat(lb[0]) + flat(lb[1])
    assert float(loss) == pytest.approx(brute_bag(feats, labels, 0.07),
                                        rel=1e-9)


def test_feature_scale_does_not_matter_and_all_ignored_gives_zero():
    fa, la, fb, lb = tiny_case()
    loss = PixelContrastiveLoss('within_image', tau=0.1, max_pixels=100)
    assert float(loss(fa * 7.0, la, fb * 0.01, lb)) == pytest.approx(
        float(loss(fa, la, fb, lb)), rel=1e-9)
    empty = torch.full_like(la, 255)
    x = fa.clone().requires_grad_(True)
    out = loss(x, empty)
    assert float(out) == 0.0
    out.backward()
    assert torch.equal(x.grad, torch.zeros_like(x))


@pytest.mark.parametrize('variant', sorted(pc.BAGS))
def test_gradients_match_finite_differences(variant):
    fa, la, fb, lb = tiny_case(seed=3)
    fa.requires_grad_(True)
    fb.requires_grad_(True)
    loss = PixelContrastiveLoss(variant, tau=0.5, max_pixels=1000)

    def f(a, b):
        return loss(a, la, b, lb, generator=torch.Generator().manual_seed(1))

    assert torch.autograd.gradcheck(f, (fa, fb), eps=1e-6, atol=1e-5)


def test_chunked_anchors_give_the_same_loss_and_gradients():
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(2, 50, 4, generator=g, dtype=torch.float64)
    labels = torch.randint(-1, 3, (2, 50), generator=g)
    groups = torch.randint(0, 2, (2, 50), generator=g)
    a = feats.clone().requires_grad_(True)
    b = feats.clone().requires_grad_(True)
    whole = bag_losses(a, labels, groups, 0.2)
    chunked = bag_losses(b, labels, groups, 0.2, max_pairs=7 * 50)
    assert torch.allclose(whole, chunked)
    whole.sum().backward()
    chunked.sum().backward()
    assert torch.allclose(a.grad, b.grad)


def test_pixel_budget_draws_labelled_pixels_and_stays_fixed():
    g = torch.Generator().manual_seed(0)
    labels = torch.full((2, 8, 8), 255)
    labels[0, :2] = 1  # 16 labelled pixels in image 0, none in image 1
    feats = torch.arange(2 * 64, dtype=torch.float).view(2, 1, 8, 8)
    f, lab = sample_pixels(feats, labels, 10, generator=g)
    assert f.shape == (2, 10, 1) and lab.shape == (2, 10)
    # image 0: 10 of its 16 labelled pixels, each once, features aligned
    assert bool((lab[0] == 1).all())
    assert len(set(f[0, :, 0].tolist())) == 10
    assert bool((f[0, :, 0] < 16).all())
    assert bool((lab[1] == -1).all())  # nothing labelled: all ignored
    # masks at full resolution, features at 1/2: labels resized
    f2, lab2 = sample_pixels(torch.randn(1, 3, 4, 4), labels[:1], 4)
    assert f2.shape == (1, 4, 3)

    # the bags the loss builds have the budget's size whatever the image
    # size: 8 images, 2 views, 1000 pixels -> 62 per image and view
    sizes = []
    real = pc._anchor_losses

    def spy(anchors, *args):
        sizes.append(tuple(args[2].shape))
        return real(anchors, *args)

    loss = PixelContrastiveLoss('cross_image', max_pixels=1000)
    try:
        pc._anchor_losses = spy
        for side in (16, 32):
            x = torch.randn(8, 4, side, side)
            lab = torch.randint(0, 3, (8, side, side))
            loss(x, lab, x.flip(-1), lab.flip(-1))
    finally:
        pc._anchor_losses = real
    assert sizes == [(8, 124, 4), (8, 124, 4)]


def test_registered_and_bad_arguments_are_named():
    loss = MODELS.build(dict(type='PixelContrastiveLoss', variant='batch'))
    assert loss.variant == 'batch' and loss.tau == 0.07
    with pytest.raises(ValueError, match=r"unknown variant 'cross'.*"
                       r"\['batch', 'cross_image', 'within_image'\]"):
        PixelContrastiveLoss('cross')
    with pytest.raises(ValueError, match='tau must be > 0'):
        PixelContrastiveLoss(tau=0)
    x = torch.randn(2, 3, 4, 4)
    lab = torch.zeros(2, 4, 4, dtype=torch.long)
    with pytest.raises(ValueError, match='both feats_aug and labels_aug'):
        PixelContrastiveLoss()(x, lab, x)
    with pytest.raises(ValueError, match='differ in images or channels'):
        PixelContrastiveLoss()(x, lab, x[:1], lab[:1])


def test_the_shared_core_takes_batched_bags():
    g = torch.Generator().manual_seed(0)
    a, k = torch.randn(3, 4, 5, generator=g), torch.randn(3, 6, 5,
                                                          generator=g)
    batched = contrastive.similarity_logits(a, k, 0.5)
    for i in range(3):
        assert torch.allclose(batched[i],
                              contrastive.similarity_logits(a[i], k[i], 0.5))
    la, lk = torch.randint(-1, 2, (3, 4)), torch.randint(-1, 2, (3, 6))
    pos, neg = contrastive.same_class_mask(la, lk)
    p0, n0 = contrastive.same_class_mask(la[1], lk[1])
    assert torch.equal(pos[1], p0) and torch.equal(neg[1], n0)


# ---------------------------------------------------------------------- #
# stage 1 (PixelContrastPretrain) and the hand-over to stage 2
# ---------------------------------------------------------------------- #
PRETRAIN = 'pixel_contrast/dilatedconvnet_synthetic_1-16_pretrain.py'
FINETUNE = 'pixel_contrast/dilatedconvnet_synthetic_1-16_finetune.py'


def pretrain_cfg(root, work_dir, iters=4, ckpt=None):
    from helpers import cfg_path, load_cfg
    return load_cfg(cfg_path(PRETRAIN), {
        'work_dir': work_dir,
        'train_dataloader.dataset.data_root': root,
        'train_dataloader.batch_size': 2,
        'train_cfg.max_iters': iters,
        'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.interval': ckpt or iters,
        'default_hooks.checkpoint.max_keep_ckpts': -1,
        'param_scheduler': [dict(type='PolyLR', power=0.9, begin=0, end=8,
                                 by_epoch=False)],
        'model.loss_contrast.max_pixels': 512,
        'log_level': 'WARNING',
    })


def test_pretraining_trains_and_resumes_exactly(synthetic_root, tmp_path):
    from helpers import train
    ref = train(pretrain_cfg(synthetic_root, str(tmp_path / 'full')))
    keys = set(ref.model.state_dict())
    assert any(k.startswith('projection_head.') for k in keys)
    assert not any(k.startswith('decode_head.') for k in keys)
    half = str(tmp_path / 'half')
    cfg = pretrain_cfg(synthetic_root, half, ckpt=2)
    cfg.train_cfg.max_iters = 2
    train(cfg)
    got = train(pretrain_cfg(synthetic_root, half, ckpt=2), resume=True)
    for k, v in ref.model.state_dict().items():
        assert torch.equal(got.model.state_dict()[k], v), k
    # stage 1 cannot segment, and says what to do instead
    with pytest.raises(RuntimeError, match='no classifier.*Fine-tune'):
        ref.model.predict(torch.zeros(1, 3, 64, 64))
    with pytest.raises(KeyError, match=r"no \['distorted'\] branch"):
        ref.model.loss({'orig': torch.zeros(2, 3, 8, 8)}, {'orig': []})


def test_stage_two_gets_the_backbone_and_not_the_projection_head(
        synthetic_root, tmp_path):
    import subprocess
    import sys
    from helpers import REPO, cfg_path
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    work = tmp_path / 'run'
    opts = [f'train_dataloader.dataset.data_root={synthetic_root}',
            'train_dataloader.batch_size=2', 'log_level=WARNING']
    r = subprocess.run([
        sys.executable, osp.join(REPO, 'tools/pretrain_finetune.py'),
        cfg_path(PRETRAIN), cfg_path(FINETUNE), '--work-dir', str(work),
        '--pretrain-options', *opts, 'train_cfg.max_iters=2',
        'model.loss_contrast.max_pixels=512',
        'default_hooks.checkpoint.interval=2',
        '--finetune-options', *opts, 'train_cfg.max_iters=2',
        'train_cfg.val_interval=100', 'default_hooks.checkpoint.interval=2',
        f'val_dataloader.dataset.data_root={synthetic_root}',
        f'test_dataloader.dataset.data_root={synthetic_root}'
    ], capture_output=True, text=True, cwd=str(tmp_path))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    stage1 = torch.load(work / 'pretrain' / 'iter_2.pth', map_location='cpu',
                        weights_only=False)['state_dict']
    # the hand-over itself: stage 2's model, initialised as the runner does
    init_default_scope('semiseg_mm')
    cfg = Config.fromfile(cfg_path(FINETUNE))
    cfg.model.backbone.init_cfg.checkpoint = str(work / 'pretrain' /
                                                 'iter_2.pth')
    model = MODELS.build(cfg.model)
    model.init_weights()
    state = model.state_dict()
    backbone = [k for k in stage1 if k.startswith('backbone.')]
    assert backbone
    for k in backbone:
        assert torch.equal(state[k], stage1[k]), k
    assert not any(k.startswith('projection_head') for k in state)
    assert any(k.startswith('decode_head.') for k in state)
    # a fresh decode head: not the stage-1 file's (it has none), and the
    # fine-tuned run's final checkpoint exists
    assert (work / 'finetune' / 'iter_2.pth').is_file()
    # a second call finds stage 1 done and does not train it again
    assert 'stage 1 done' in subprocess.run([
        sys.executable, osp.join(REPO, 'tools/pretrain_finetune.py'),
        cfg_path(PRETRAIN), cfg_path(FINETUNE), '--work-dir', str(work),
        '--pretrain-options', 'train_cfg.max_iters=2', '--finetune-options',
        *opts, 'train_cfg.max_iters=2', 'train_cfg.val_interval=100',
        f'val_dataloader.dataset.data_root={synthetic_root}',
        f'test_dataloader.dataset.data_root={synthetic_root}'
    ], capture_output=True, text=True, cwd=str(tmp_path)).stdout
