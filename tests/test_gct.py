"""GCT (Guided Collaborative Training): its masks and losses through the
segmentor, the two optimiser steps, prediction branches, the regression
form, and the synthetic config through the runner (train, resume, two
processes, pictures). Expected values are worked out in the comments."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from helpers import (REPO, cfg_path, load_cfg, semi_overrides, tiny_segmentor,
                     train)
from semiseg_mm.engine.optimizers import MultiOptimWrapperConstructor
from semiseg_mm.models.losses.gct import flaw_target_from_distance
from semiseg_mm.models.utils import full_res_logits
from semiseg_mm.registry import MODELS

GCT_CFG = cfg_path('gct/dilatedconvnet_synthetic_1-16.py')
GCT_STRONG_CFG = cfg_path('gct/dilatedconvnet-strong-ce_synthetic_1-16.py')
GCT_EMA_CFG = cfg_path('gct/dilatedconvnet-strong-ema_synthetic_1-16.py')
SIZE = 64  # the flaw detector needs >= 64 px


tiny = tiny_segmentor


PRE = dict(
    type='mmdet.MultiBranchDataPreprocessor',
    data_preprocessor=dict(type='SegDataPreProcessor', size=(SIZE, SIZE)))
SMALL_FD = dict(type='FlawDetector', channels=(8, ) * 7)


def build(segmentor=None, **train_cfg):
    # crop_size 16: the flaw-map blur kernel is int(16 / 16) = 1, i.e. none
    cfg = dict(crop_size=16)
    cfg.update(train_cfg)
    return MODELS.build(
        dict(
            type='GCT',
            segmentor=segmentor or tiny(),
            flaw_detector=SMALL_FD,
            data_preprocessor=PRE,
            semi_train_cfg=cfg))


def optim(model, task_lr=0.01, fd_lr=1e-3):
    return MultiOptimWrapperConstructor(
        dict(
            task=dict(
                modules=['model1', 'model2'],
                optimizer=dict(type='SGD', lr=task_lr, momentum=0.9)),
            fd=dict(
                modules='flaw_detector',
                optimizer=dict(type='Adam', lr=fd_lr, betas=(0.9, 0.99)))))(
                    model)


def sample(label=None, target=None):
    s = SegDataSample()
    s.set_metainfo(dict(img_shape=(SIZE, SIZE), ori_shape=(SIZE, SIZE)))
    if label is not None:
        s.gt_sem_seg = PixelData(data=label)
    if target is not None:
        s.gt_target = PixelData(data=target)
    return s


def raw_batch(n_l=2, n_u=2, seed=0):
    """A batch as the dataloader yields it (before preprocessing)."""
    g = torch.Generator().manual_seed(seed)
    img = [torch.rand(3, SIZE, SIZE, generator=g) * 255
           for _ in range(n_l + n_u)]
    labels = [torch.randint(0, 3, (1, SIZE, SIZE), generator=g)
              for _ in range(n_l)]
    return {
        'inputs': {'sup': img[:n_l], 'unsup': img[n_l:]},
        'data_samples': {
            'sup': [sample(label) for label in labels],
            'unsup': [sample() for _ in range(n_u)]
        }
    }


def preprocessed(model, seed=0):
    data = model.data_preprocessor(raw_batch(seed=seed), training=True)
    return data['inputs'], data['data_samples']


def region_maps():
    """Crafted raw flaw maps of model 1 / model 2, four 16-column bands:

    ===========  =====  =====  ==============================================
    columns      F1     F2     with xi = 0.6
    ===========  =====  =====  ==============================================
    0-15         0.9    0.3    F1 hopeless (-> 1) > 0.3: model 1 learns
    16-31        0.2    0.5    model 2 learns from model 1
    32-47        0.65   0.95   both hopeless: tie, no DC; FC (both > xi)
    48-63        0.3    0.3    tie: nothing
    ===========  =====  =====  ==============================================

    Pixel (0, 48) is 0 and (0, 49) is 1 in both maps, so min-max
    normalisation leaves the values unchanged; (0, 49) is a hopeless tie
    with FC.
    """
    f1 = torch.zeros(1, 1, SIZE, SIZE)
    f2 = torch.zeros(1, 1, SIZE, SIZE)
    for col, (a, b) in zip(range(0, SIZE, 16), [(0.9, 0.3), (0.2, 0.5),
                                                (0.65, 0.95), (0.3, 0.3)]):
        f1[..., col:col + 16] = a
        f2[..., col:col + 16] = b
    for f in (f1, f2):
        f[0, 0, 0, 48] = 0.0
        f[0, 0, 0, 49] = 1.0
    return f1, f2


class FakeDetector(nn.Module):
    """Returns the crafted maps: model 1's on the first call of a task step,
    model 2's on the second; keeps what it was given."""

    def __init__(self, maps):
        super().__init__()
        self.maps = maps
        self.seen = []

    def forward(self, image, probs):
        k = len(self.seen) % 2
        self.seen.append(probs.detach())
        return self.maps[k].expand(len(image), -1, -1, -1).clone()


def band(start, stop):
    m = torch.zeros(1, 1, SIZE, SIZE)
    m[..., start:stop] = 1.0
    return m


def test_dc_and_fc_masks_on_crafted_flaw_maps():
    torch.manual_seed(0)
    model = build(xi=0.6, lambda_dc=100.0, lambda_fc=1.0)
    f1, f2 = region_maps()
    fake = FakeDetector((f1, f2))
    model.flaw_detector = fake
    model.eval()  # BatchNorm statistics independent of the batch split
    inputs, samples = preprocessed(model)
    losses = model.loss(inputs, samples)
    images = torch.cat((inputs['sup'], inputs['unsup']))
    with torch.no_grad():
        p1 = full_res_logits(model.model1, images).softmax(1)
        p2 = full_res_logits(model.model2, images).softmax(1)
    # the first detector call saw model 1's prediction, the second model 2's
    assert torch.allclose(fake.seen[0], p1, atol=1e-6)
    assert torch.allclose(fake.seen[1], p2, atol=1e-6)

    pixels = SIZE * SIZE
    assert losses['unsup.dc1_ratio'].item() == pytest.approx(0.25)
    assert losses['unsup.dc2_ratio'].item() == pytest.approx(0.25)
    assert losses['unsup.fc_ratio'].item() == pytest.approx(0.25 +
                                                            1 / pixels)
    # DC: model 1 pulled to model 2 in band 0-15, model 2 to 1 in 16-31;
    # MSE over all N * C * H * W elements, times lambda_dc = 100
    m1, m2 = band(0, 16), band(16, 32)
    dc1 = 100 * ((p1 - p2)**2 * m1).sum() / p1.numel()
    dc2 = 100 * ((p2 - p1)**2 * m2).sum() / p2.numel()
    assert losses['unsup.loss_dc1'].item() == pytest.approx(dc1.item(),
                                                            rel=1e-4)
    assert losses['unsup.loss_dc2'].item() == pytest.approx(dc2.item(),
                                                            rel=1e-4)
    # FC on the raw maps: band 32-47 (0.65^2 / 0.95^2) and pixel (0, 49)
    fc1 = (0.65**2 * 16 * SIZE + 1.0) / pixels
    fc2 = (0.95**2 * 16 * SIZE + 1.0) / pixels
    assert losses['unsup.loss_fc1'].item() == pytest.approx(fc1, rel=1e-5)
    assert losses['unsup.loss_fc2'].item() == pytest.approx(fc2, rel=1e-5)

    # xi = 0.7: 0.65 no longer counts as hopeless, so in band 32-47 model 2
    # (0.95 -> 1) is the flawed one and learns; FC needs both > 0.7: only
    # pixel (0, 49) is left
    model.xi = 0.7
    fake.seen.clear()
    losses = model.loss(inputs, samples)
    assert losses['unsup.dc1_ratio'].item() == pytest.approx(0.25)
    assert losses['unsup.dc2_ratio'].item() == pytest.approx(0.5)
    assert losses['unsup.fc_ratio'].item() == pytest.approx(1 / pixels)
    dc2 = 100 * ((p2 - p1)**2 * band(16, 48)).sum() / p2.numel()
    assert losses['unsup.loss_dc2'].item() == pytest.approx(dc2.item(),
                                                            rel=1e-4)


class RecordingDetector(FakeDetector):
    """FakeDetector that also keeps the images it was shown."""

    def __init__(self, maps):
        super().__init__(maps)
        self.images = []

    def forward(self, image, probs):
        self.images.append(image.detach())
        return super().forward(image, probs)


def strong_batch(model, box=(0, 0, 32, SIZE)):
    """Preprocessed batch with a weak and a different strong view per
    unlabelled image; strong sample 0 carries a CutMix box (x1, y1, x2,
    y2), sample 1 none."""
    raw = raw_batch(n_l=2, n_u=2, seed=0)
    weak = raw_batch(n_l=0, n_u=2, seed=1)['inputs']['unsup']
    strong = raw['inputs'].pop('unsup')
    samples = raw['data_samples']
    samples.pop('unsup')
    raw['inputs'].update(unsup_teacher=weak, unsup_student=strong)
    samples['unsup_teacher'] = [sample() for _ in range(2)]
    samples['unsup_student'] = [sample() for _ in range(2)]
    samples['unsup_student'][0].set_metainfo(dict(cutmix_box=box))
    samples['unsup_student'][1].set_metainfo(dict(cutmix_box=None))
    data = model.data_preprocessor(raw, training=True)
    return data['inputs'], data['data_samples']


def crafted_strong_loss(model):
    """``model.loss`` on :func:`strong_batch` with the crafted flaw maps
    (identical for every image, so CutMix leaves them unchanged). Returns
    the losses, the recording detector, the labelled, weak and (box-mixed)
    strong images."""
    fake = RecordingDetector(region_maps())
    model.flaw_detector = fake
    model.eval()
    inputs, samples = strong_batch(model)
    losses = model.loss(inputs, samples)
    x_s = inputs['unsup_student'].clone()
    x_s[0, :, :, :32] = x_s[1, :, :, :32]  # the box takes sample 1's pixels
    return losses, fake, inputs['sup'], inputs['unsup_teacher'], x_s


def expected_ce_dc1(model, x_l, x_s, weak_other):
    """Model 1's CE DC on band 0-15 towards the argmax of model 2 on the
    labelled images and of ``weak_other`` (weak-view probabilities, CutMix-ed
    here like the strong images), over all N * H * W pixels."""
    with torch.no_grad():
        logits1 = full_res_logits(model.model1, torch.cat((x_l, x_s)))
        p2_l = full_res_logits(model.model2, x_l).softmax(1)
    weak_other = weak_other.clone()
    weak_other[0, :, :, :32] = weak_other[1, :, :, :32]
    target = torch.cat((p2_l, weak_other)).argmax(1)
    ce = F.cross_entropy(logits1, target, reduction='none')
    return ((ce * band(0, 16)[:, 0]).sum() / (4 * SIZE * SIZE)).item()


def test_strong_view_ce_learns_mixed_weak_predictions_of_the_other():
    """strong_view + dc_loss='ce' on the crafted maps (identical for every
    image, so CutMix leaves them unchanged): model 1 learns in band 0-15,
    by CE towards model 2's argmax, which on the unlabelled images is its
    eval-mode prediction on the *weak* view, CutMix-ed like the strong
    images; normalised by all N * H * W pixels. FC uses the weak maps'
    mask on the detector's output for the strong view."""
    torch.manual_seed(0)
    model = build(xi=0.6, lambda_dc=1.0, strong_view=True, dc_loss='ce')
    losses, fake, x_l, x_w, x_s = crafted_strong_loss(model)
    # calls: model 1 / model 2 on the weak views, then on labelled + mixed
    # strong views
    assert [len(i) for i in fake.images] == [2, 2, 4, 4]
    assert torch.equal(fake.images[0], x_w)
    assert torch.allclose(fake.images[2], torch.cat((x_l, x_s)))
    with torch.no_grad():
        logits1 = full_res_logits(model.model1, torch.cat((x_l, x_s)))
        p2_l = full_res_logits(model.model2, x_l).softmax(1)
        p2_w = full_res_logits(model.model2, x_w).softmax(1)
    assert torch.allclose(fake.seen[1], p2_w, atol=1e-6)
    assert losses['unsup.loss_dc1'].item() == pytest.approx(
        expected_ce_dc1(model, x_l, x_s, p2_w), rel=1e-4)
    p2_w[0, :, :, :32] = p2_w[1, :, :, :32]
    # the strong view's own model-2 prediction is not the target
    with torch.no_grad():
        p2_s = full_res_logits(model.model2, x_s).softmax(1)
    assert not torch.equal(p2_s.argmax(1), p2_w.argmax(1))
    assert losses['unsup.dc1_ratio'].item() == pytest.approx(0.25)
    pixels = SIZE * SIZE
    fc1 = (0.65**2 * 16 * SIZE + 1.0) / pixels
    assert losses['unsup.loss_fc1'].item() == pytest.approx(fc1, rel=1e-5)
    # the MSE form on the same masks: model 1 towards model 2's (mixed
    # weak) probabilities
    model.dc_loss = 'mse'
    losses = crafted_strong_loss(model)[0]
    p1 = logits1.softmax(1)
    p_other = torch.cat((p2_l, p2_w))
    dc1 = ((p1 - p_other)**2 * band(0, 16)).sum() / p1.numel()
    assert losses['unsup.loss_dc1'].item() == pytest.approx(dc1.item(),
                                                            rel=1e-4)


def test_strong_view_needs_both_views_and_ce_needs_classes():
    model = build(strong_view=True)
    inputs, samples = preprocessed(model)  # one 'unsup' view only
    with pytest.raises(ValueError, match='unsup_student'):
        model.loss(inputs, samples)
    with pytest.raises(ValueError, match="dc_loss must be one of"):
        build(dc_loss='kl')
    with pytest.raises(ValueError, match="task_type='segmentation'"):
        build(dc_loss='ce', task_type='regression')
    with pytest.raises(ValueError, match='strong_view must be True or'):
        build(strong_view='yes')


def test_ema_guidance_takes_weak_view_targets_from_the_emas():
    """ema_guidance: the weak-view predictions the flaw detector sees and
    model 1 learns from are ema2's, not model 2's; the EMA copies are
    frozen, outside the task optimiser and stay in eval mode."""
    torch.manual_seed(0)
    model = build(xi=0.6, lambda_dc=1.0, strong_view=True, dc_loss='ce',
                  ema_guidance=True)
    assert model.sub_model_names() == ('model1', 'model2', 'ema1', 'ema2')
    assert not any(p.requires_grad for p in model.ema1.parameters())
    optimised = {id(p) for p in optim(model)['task'].param_groups[0]['params']}
    assert not optimised & {id(p) for p in model.ema2.parameters()}
    model.train()
    assert model.model1.training and not model.ema1.training
    # an EMA that differs from its model (as after some training)
    with torch.no_grad():
        for p in model.ema2.parameters():
            p.add_(0.5 * torch.randn_like(p))
    losses, fake, x_l, x_w, x_s = crafted_strong_loss(model)
    with torch.no_grad():
        ema_w = full_res_logits(model.ema2, x_w).softmax(1)
        model_w = full_res_logits(model.model2, x_w).softmax(1)
    assert torch.allclose(fake.seen[1], ema_w, atol=1e-6)
    assert not torch.equal(ema_w.argmax(1), model_w.argmax(1))
    assert losses['unsup.loss_dc1'].item() == pytest.approx(
        expected_ce_dc1(model, x_l, x_s, ema_w), rel=1e-4)


def test_ema_guidance_needs_strong_view_and_ema_branches_need_it():
    with pytest.raises(ValueError, match='needs strong_view=True'):
        build(ema_guidance=True)
    with pytest.raises(ValueError, match='ema_guidance must be True or'):
        build(strong_view=True, ema_guidance=1)
    with pytest.raises(ValueError, match='ema1'):
        MODELS.build(
            dict(
                type='GCT',
                segmentor=tiny(),
                flaw_detector=SMALL_FD,
                data_preprocessor=PRE,
                semi_train_cfg=dict(crop_size=16),
                semi_test_cfg=dict(predict_on='ema1')))
    model = build(strong_view=True, ema_guidance=True)
    assert 'ema2' in model.predict_branches


def test_ramp_up_weights_dc_only_and_warmup_skips_both():
    model = build(rampup=dict(kind='linear', rampup_iters=10,
                              start_iters=5))
    model.flaw_detector = FakeDetector(region_maps())
    inputs, samples = preprocessed(model)
    from mmengine.logging import MessageHub
    hub = MessageHub.get_current_instance()
    try:
        hub.update_info('iter', 0)  # before start_iters: supervised only
        losses = model.loss(inputs, samples)
        assert not any(k.startswith('unsup.') for k in losses)
        assert {'sup.model1.decode.loss_ce',
                'sup.model2.decode.loss_ce'} <= set(losses)
        hub.update_info('iter', 10)  # half-way: weight 0.5
        half = model.loss(inputs, samples)
        assert half['unsup.weight'].item() == pytest.approx(0.5)
        hub.update_info('iter', 15)  # ramped up: weight 1
        full = model.loss(inputs, samples)
        # PixelSSL ramps DC only; FC has its full weight from the start
        for k in ('unsup.loss_dc1', 'unsup.loss_dc2'):
            assert full[k].item() > 0
            assert half[k].item() == pytest.approx(0.5 * full[k].item())
        for k in ('unsup.loss_fc1', 'unsup.loss_fc2'):
            assert full[k].item() > 0
            assert half[k].item() == pytest.approx(full[k].item())
    finally:
        hub.update_info('iter', 0)


def test_flaw_correction_reaches_task_model_not_detector():
    torch.manual_seed(0)
    # xi = 0: every pixel where both normalised maps are > 0 gets FC (no
    # map is cleared: clear_threshold 0)
    model = build(xi=0.0, lambda_dc=0.0, clear_threshold=0.0)
    # a detector with a spatial output at 64 px (SMALL_FD ends at 1x1: its
    # flaw map is constant, normalised to zeros, and gives no FC)
    model.flaw_detector = MODELS.build(
        dict(SMALL_FD, in_channels=6, strides=(2, 2, 1, 1, 1, 1, 1)))
    model.train()
    inputs, samples = preprocessed(model)
    losses = model.loss(inputs, samples)
    assert losses['unsup.fc_ratio'] > 0.5
    losses['unsup.loss_fc1'].backward()
    grad = model.model1.decode_head.conv_seg.weight.grad
    assert grad is not None and grad.abs().sum() > 0
    assert all(p.grad is None for p in model.model2.parameters())
    assert all(p.grad is None for p in model.flaw_detector.parameters())
    # the detector was frozen for the call only
    assert all(p.requires_grad for p in model.flaw_detector.parameters())


def state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_two_steps_update_their_own_models():
    torch.manual_seed(0)
    model = build(xi=0.3)
    ow = optim(model)
    model.train()
    task_before = (state(model.model1), state(model.model2))
    fd_params = {k: v.clone() for k, v in
                 model.flaw_detector.named_parameters()}
    log_vars, fd_batch = model.task_step(raw_batch(), ow)
    # (a) the task models moved; the detector's parameters did not and it
    # got no gradient (its BatchNorm statistics may update)
    assert not torch.equal(model.model1.decode_head.conv_seg.weight,
                           task_before[0]['decode_head.conv_seg.weight'])
    assert all(p.grad is None for p in model.flaw_detector.parameters())
    for k, p in model.flaw_detector.named_parameters():
        assert torch.equal(p, fd_params[k]), k
    assert fd_batch.num_labeled == 2 and len(fd_batch.images) == 4
    assert all(not p.requires_grad for p in fd_batch.preds)

    # (b) the detector step leaves both task models exactly as they were
    task_mid = (state(model.model1), state(model.model2))
    fd_logs = model.flaw_detector_step(fd_batch, ow)
    for before, sub in zip(task_mid, (model.model1, model.model2)):
        after = sub.state_dict()
        assert all(torch.equal(after[k], v) for k, v in before.items())
    assert any(not torch.equal(p, fd_params[k])
               for k, p in model.flaw_detector.named_parameters())
    assert set(fd_logs) == {'fd.loss_fd', 'fd.mse1', 'fd.mse2'}
    # fd_weight (10) x the mean of the two models' MSE
    assert fd_logs['fd.loss_fd'].item() == pytest.approx(
        10 * 0.5 * (fd_logs['fd.mse1'] + fd_logs['fd.mse2']).item(),
        rel=1e-5)


def test_flaw_targets_are_c_of_each_model_on_labelled_images():
    torch.manual_seed(0)
    model = build()
    model.train()
    _, fd_batch = model.task_step(raw_batch(), optim(model))
    labels = torch.stack(
        [s.gt_sem_seg.data[0] for s in raw_batch()['data_samples']['sup']])
    for p, t in zip(fd_batch.preds, fd_batch.targets):
        onehot = F.one_hot(labels, 3).permute(0, 3, 1, 2).float()
        d = 0.5 * (onehot - p[:2]).abs().sum(1, keepdim=True)  # = 1 - p_y
        assert torch.allclose(d, 1 - p[:2].gather(1, labels[:, None]),
                              atol=1e-5)
        expected = flaw_target_from_distance(d, 16)
        assert t.shape == (2, 1, SIZE, SIZE)
        assert torch.allclose(t, expected, atol=1e-5)


def test_train_step_logs_all_three_groups():
    torch.manual_seed(0)
    model = build()
    model.train()
    ow = optim(model)
    log_vars = model.train_step(raw_batch(), ow)
    keys = set(log_vars)
    assert {'loss', 'sup.model1.decode.loss_ce', 'sup.model2.decode.loss_ce',
            'unsup.loss_dc1', 'unsup.loss_dc2', 'unsup.loss_fc1',
            'unsup.loss_fc2', 'fd.loss_fd'} <= keys
    assert all(torch.isfinite(v).all() for v in log_vars.values())
    # 'loss' is the task models' total
    task_total = sum(v for k, v in log_vars.items()
                     if 'loss' in k and not k.startswith('fd.')
                     and k != 'loss')
    assert log_vars['loss'].item() == pytest.approx(task_total.item(),
                                                    rel=1e-5)
    with pytest.raises(TypeError, match="'task'"):
        model.train_step(raw_batch(), ow['task'])


def test_predict_branches_and_ensemble():
    torch.manual_seed(0)
    model = build()
    assert model.predict_branches == ('model1', 'model2', 'ensemble')
    assert model.semi_test_cfg.predict_on == 'model1'
    model.eval()
    x = torch.randn(2, 3, SIZE, SIZE)
    with torch.no_grad():
        out = {}
        for branch in model.predict_branches:
            model.semi_test_cfg['predict_on'] = branch
            out[branch] = model.predict(x, [sample() for _ in range(2)])
        p1 = full_res_logits(model.model1, x).softmax(1)
        p2 = full_res_logits(model.model2, x).softmax(1)
        model.semi_test_cfg['predict_on'] = 'ensemble'
        fwd = model._forward(x)
    for branch, model_k in (('model1', model.model1), ('model2',
                                                       model.model2)):
        ref = model_k.predict(x, [sample() for _ in range(2)])
        assert torch.equal(out[branch][0].pred_sem_seg.data,
                           ref[0].pred_sem_seg.data)
    ens = out['ensemble'][0]
    assert isinstance(ens, SegDataSample)
    mean = 0.5 * (p1 + p2)
    assert torch.allclose(ens.seg_logits.data, mean[0], atol=1e-5)
    assert torch.equal(ens.pred_sem_seg.data[0], mean[0].argmax(0))
    assert torch.allclose(fwd, mean, atol=1e-5)
    with pytest.raises(ValueError, match='single model'):
        model.extract_feat(x)
    with pytest.raises(ValueError, match=r"predict_on='teacher' is not a "
                       r"branch; choose one of \('model1', 'model2', "
                       r"'ensemble'\)"):
        MODELS.build(
            dict(
                type='GCT',
                segmentor=tiny(),
                flaw_detector=SMALL_FD,
                semi_train_cfg=dict(crop_size=64),
                semi_test_cfg=dict(predict_on='teacher')))


def test_two_models_start_different_and_load_plain_checkpoints():
    model = build()
    assert not torch.equal(model.model1.decode_head.conv_seg.weight,
                           model.model2.decode_head.conv_seg.weight)
    assert model.flaw_detector.in_channels == 3 + 3
    assert model.sub_model_names() == ('model1', 'model2')
    plain = MODELS.build(tiny())
    model.load_state_dict(plain.state_dict(), strict=False)
    for sub in (model.model1, model.model2):
        assert torch.equal(sub.decode_head.conv_seg.weight,
                           plain.decode_head.conv_seg.weight)


def test_config_errors_name_the_key():
    with pytest.raises(ValueError, match='semi_train_cfg.crop_size'):
        MODELS.build(dict(type='GCT', segmentor=tiny(),
                          flaw_detector=SMALL_FD))
    with pytest.raises(ValueError, match='lambda_dc / lambda_fc'):
        build(unsup_weight=2.0)
    with pytest.raises(ValueError, match='semi_train_cfg.task_type'):
        build(task_type='classification')
    with pytest.raises(ValueError, match=r'semi_train_cfg.xi must be in'):
        build(xi=1.5)
    with pytest.raises(ValueError, match='segmentor2 has 4 outputs'):
        MODELS.build(
            dict(
                type='GCT',
                segmentor=tiny(),
                segmentor2=tiny(4),
                flaw_detector=SMALL_FD,
                semi_train_cfg=dict(crop_size=64)))
    with pytest.raises(ValueError, match='flaw_detector.in_channels=5'):
        MODELS.build(
            dict(
                type='GCT',
                segmentor=tiny(),
                flaw_detector=dict(SMALL_FD, in_channels=5),
                semi_train_cfg=dict(crop_size=64)))
    model = build()
    data = raw_batch()
    data['inputs'].pop('unsup')
    data['data_samples'].pop('unsup')
    with pytest.raises(ValueError, match="no 'unsup' images"):
        model.train_step(data, optim(model))


# --------------------------------------------------------------------- #
# regression: a tiny denoising task (O = 3 output channels, MSE)
# --------------------------------------------------------------------- #


def denoising_batch(seed=0, n_l=2, n_u=2):
    g = torch.Generator().manual_seed(seed)
    clean = F.interpolate(
        torch.rand(n_l + n_u, 3, 8, 8, generator=g), size=(SIZE, SIZE),
        mode='bilinear', align_corners=False)
    noisy = clean + 0.2 * torch.randn(clean.shape, generator=g)
    return {
        'inputs': {'sup': list(noisy[:n_l]), 'unsup': list(noisy[n_l:])},
        'data_samples': {
            'sup': [sample(target=c) for c in clean[:n_l]],
            'unsup': [sample() for _ in range(n_u)]
        }
    }, clean[:n_l]


def test_regression_form_denoising():
    torch.manual_seed(0)
    model = build(task_type='regression', xi=0.3)
    assert model.flaw_detector.in_channels == 3 + 3
    model.train()
    ow = optim(model, task_lr=0.05)
    for it in range(3):
        data, clean = denoising_batch(seed=it)
        log_vars = model.train_step(data, ow)
        assert all(torch.isfinite(v).all() for v in log_vars.values())
    assert {'sup.model1.loss_mse', 'sup.model2.loss_mse', 'unsup.loss_dc1',
            'unsup.loss_fc1', 'fd.loss_fd'} <= set(log_vars)
    assert not any('loss_ce' in k for k in log_vars)
    # predictions are the raw outputs; the detector target comes from the
    # mean absolute error over the 3 channels
    data, clean = denoising_batch(seed=5)
    _, fd_batch = model.task_step(data, ow)
    with torch.no_grad():
        model.eval()
        out = full_res_logits(model.model1,
                              torch.stack(data['inputs']['sup']))
        model.train()
    for p, t in zip(fd_batch.preds, fd_batch.targets):
        d = (p[:2] - clean).abs().mean(dim=1, keepdim=True)
        assert torch.allclose(t, flaw_target_from_distance(d, 16),
                              atol=1e-5)
    assert out.shape == clean.shape  # outputs live in the target space
    # the supervised loss is the MSE to gt_target
    losses = model.loss(*preprocessed_denoising(model))
    assert losses['sup.model1.loss_mse'] > 0
    data, _ = denoising_batch()
    del data['data_samples']['sup'][0].gt_target
    with pytest.raises(KeyError, match='gt_target'):
        model.train_step(data, ow)


def preprocessed_denoising(model):
    data, _ = denoising_batch(seed=9)
    data = model.data_preprocessor(data, training=True)
    return data['inputs'], data['data_samples']


# --------------------------------------------------------------------- #
# the synthetic config through the runner
# --------------------------------------------------------------------- #


def gct_cfg(root, work, iters, val=True, path=GCT_CFG):
    cfg = load_cfg(path, semi_overrides(root, work, iters, val=val))
    # a small detector: checkpoints of the 8.3M-parameter one are ~100 MB
    cfg.model.flaw_detector.channels = (8, ) * 7
    # the DC/FC losses from the first iteration
    cfg.model.semi_train_cfg.rampup = dict(kind='linear', rampup_iters=1)
    return cfg


def scalars(work_dir):
    records = []
    for path in glob.glob(
            osp.join(work_dir, '*', 'vis_data', 'scalars.json')):
        with open(path) as f:
            records += [json.loads(line) for line in f]
    return records


def test_synthetic_config_trains_validates_and_draws(synthetic_root,
                                                      tmp_path):
    work = str(tmp_path / 'run')
    cfg = gct_cfg(synthetic_root, work, 3)
    cfg.custom_hooks = [dict(type='SemiVisualizationHook', interval=3)]
    runner = train(cfg)
    assert runner.iter == 3
    keys = set().union(*scalars(work))
    assert {'model1/mIoU', 'model2/mIoU', 'ensemble/mIoU'} <= keys
    assert {'sup.model1.decode.loss_ce', 'unsup.loss_dc1',
            'fd.loss_fd'} <= keys
    ckpt = torch.load(osp.join(work, 'iter_3.pth'), map_location='cpu')
    assert set(ckpt['optimizer']) == {'task', 'fd'}
    assert any(k.startswith('flaw_detector.') for k in ckpt['state_dict'])
    assert glob.glob(osp.join(work, 'best_model1_mIoU_iter_3.pth'))
    pictures = glob.glob(
        osp.join(work, '*', 'vis_data', 'vis_image', 'semi_3.png'))
    assert pictures, os.listdir(work)

    # tools/visualize_semi.py renders a GCT checkpoint
    cfg_file = str(tmp_path / 'gct.py')
    cfg.dump(cfg_file)
    out = str(tmp_path / 'vis')
    r = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools/visualize_semi.py'), cfg_file,
        osp.join(work, 'iter_3.pth'), '--out', out, '--max-images', '2'
    ],
                       capture_output=True,
                       text=True,
                       env=dict(os.environ, OMP_NUM_THREADS='1'),
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    import cv2
    img = cv2.imread(osp.join(out, 'semi_batch0.png'))
    # 2 rows (a labelled and an unlabelled image) of 12 panels
    assert img is not None and img.shape[1] > 10 * 128


def test_strong_view_config_trains(synthetic_root, tmp_path):
    """The strong-view + CE config (weak/strong views from the FixMatch
    pipeline, CutMix boxes) trains through the runner and validates."""
    work = str(tmp_path / 'run')
    runner = train(gct_cfg(synthetic_root, work, 2, path=GCT_STRONG_CFG))
    assert runner.iter == 2
    keys = set().union(*scalars(work))
    assert {'model1/mIoU', 'unsup.loss_dc1', 'unsup.loss_fc2',
            'fd.loss_fd'} <= keys


def test_ema_guidance_config_trains_and_keeps_the_emas(synthetic_root,
                                                      tmp_path):
    """The EMA-guidance config: its two EMATeacherHooks average model1 into
    ema1 and model2 into ema2; every branch, the EMAs included, is
    validated."""
    work = str(tmp_path / 'run')
    runner = train(gct_cfg(synthetic_root, work, 2, path=GCT_EMA_CFG))
    assert runner.iter == 2
    model = runner.model
    for k in ('1', '2'):
        task = model.get_submodule('model' + k).state_dict()
        ema = model.get_submodule('ema' + k).state_dict()
        diff = [
            n for n, t in task.items()
            if t.is_floating_point() and not torch.equal(t, ema[n])
        ]
        assert diff, f'ema{k} equals model{k}: the hook did not average'
    keys = set().union(*scalars(work))
    assert {'model1/mIoU', 'ema1/mIoU', 'ema2/mIoU'} <= keys


def test_speed_tool_measures_the_strong_view_config(synthetic_root,
                                                   tmp_path):
    """tools/benchmark.py's bare-pass reference follows strong_view (its
    views and the extra weak-view forwards)."""
    data = tmp_path / 'data'
    data.mkdir()
    os.symlink(synthetic_root, data / 'synthetic')
    r = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools/benchmark.py'), GCT_STRONG_CFG, '--iters', '1',
        '--warmup', '1', '--threads', '1'
    ],
                       capture_output=True,
                       text=True,
                       cwd=str(tmp_path),
                       timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert '| GCT |' in r.stdout


def test_resume_equals_uninterrupted(synthetic_root, tmp_path):
    """All three sub-models and both optimisers after N iterations + resume
    to 2N equal a 2N-iteration run."""
    n = 2

    def run(work, iters, resume=False):
        cfg = gct_cfg(synthetic_root, work, iters, val=False)
        cfg.default_hooks.checkpoint.interval = n
        return train(cfg, resume=resume)

    ref = run(str(tmp_path / 'full'), 2 * n)
    ref_model = ref.model.state_dict()
    ref_optim = ref.optim_wrapper.state_dict()
    half = str(tmp_path / 'half')
    run(half, n)
    resumed = run(half, 2 * n, resume=True)
    assert resumed.iter == 2 * n
    got = resumed.model.state_dict()
    assert got.keys() == ref_model.keys()
    assert {k.split('.')[0] for k in got} >= {'model1', 'model2',
                                              'flaw_detector'}
    for k in ref_model:
        assert torch.equal(got[k], ref_model[k]), k
    got_optim = resumed.optim_wrapper.state_dict()
    assert set(got_optim) == {'task', 'fd'}
    for name in ('task', 'fd'):
        a, b = got_optim[name]['state'], ref_optim[name]['state']
        assert a.keys() == b.keys() and a
        for idx in a:
            for key, value in a[idx].items():
                assert torch.equal(value, b[idx][key]), (name, idx, key)
    # a run without the second half differs (the comparison can fail)
    short = run(str(tmp_path / 'short'), n).model.state_dict()
    assert any(not torch.equal(short[k], ref_model[k]) for k in ref_model)


RANK_DUMP = '''
import os.path as osp

import torch
import torch.distributed as dist
from mmengine.hooks import Hook

from semiseg_mm.engine.hooks import unwrap
from semiseg_mm.registry import HOOKS


@HOOKS.register_module()
class DumpRankParams(Hook):

    def after_train(self, runner):
        params = {k: v.detach().clone()
                  for k, v in unwrap(runner.model).named_parameters()}
        torch.save(params, osp.join(runner.work_dir,
                                    f'params_rank{dist.get_rank()}.pth'))
'''


def dist_train(cfg_file, cwd, *args):
    env = dict(
        os.environ,
        PYTHON=sys.executable,
        PORT=str(29500 + (os.getpid() + 7) % 1000),
        OMP_NUM_THREADS='1',
        PYTHONPATH=os.pathsep.join(
            p for p in (str(cwd), os.environ.get('PYTHONPATH')) if p))
    r = subprocess.run(
        ['bash', osp.join(REPO, 'tools/dist_train.sh'), cfg_file, '2', *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(cwd),
        timeout=600)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-4000:]
    return out


def assert_ranks_agree(work):
    p0 = torch.load(work / 'params_rank0.pth')
    p1 = torch.load(work / 'params_rank1.pth')
    assert p0.keys() == p1.keys()
    assert any('model1' in k for k in p0) and any('flaw_detector' in k
                                                  for k in p0)
    for k in p0:
        assert torch.equal(p0[k], p1[k]), k


def test_dist_train_two_processes_and_resume(synthetic_root, tmp_path):
    """tools/dist_train.sh with 2 gloo processes: both ranks train, the
    task models and the detector (each in its own DDP) stay identical
    across ranks (their gradients were synchronised), and the checkpoint
    has plain keys and resumes in a second distributed run."""
    work = tmp_path / 'dist'
    cfg = gct_cfg(synthetic_root, str(work), 2, val=False)
    cfg.log_level = 'INFO'
    cfg.custom_imports = dict(
        imports=['gct_rank_dump'], allow_failed_imports=False)
    cfg.custom_hooks = [dict(type='DumpRankParams')]
    (tmp_path / 'gct_rank_dump.py').write_text(RANK_DUMP)
    cfg_file = str(tmp_path / 'cfg.py')
    cfg.dump(cfg_file)
    dist_train(cfg_file, tmp_path)
    logs = [p.read_text() for p in work.rglob('*.log')]
    assert any('Iter(train) [2/2]' in t for t in logs)
    assert_ranks_agree(work)
    ckpt = torch.load(work / 'iter_2.pth', map_location='cpu')
    keys = list(ckpt['state_dict'])
    assert not any('.module.' in k or k.startswith('module.') for k in keys)
    assert {k.split('.')[0] for k in keys} >= {'model1', 'model2',
                                               'flaw_detector'}
    # the checkpoint loads into an unwrapped model without missing keys
    model = MODELS.build(cfg.model)
    assert model.load_state_dict(ckpt['state_dict'], strict=True)

    out = dist_train(cfg_file, tmp_path, '--resume', '--cfg-options',
                     'train_cfg.max_iters=3')
    assert 'resumed checkpoint' in out.lower() or 'resumed' in out.lower()
    assert 'missing keys' not in out and 'unexpected key' not in out
    ckpt = torch.load(work / 'iter_3.pth', map_location='cpu')
    assert ckpt['meta']['iter'] == 3
    assert_ranks_agree(work)
