"""DACS: ClassMix masks, the on-device photometric augmentation, the mixed
targets and weights against hand-computed values, configuration errors, and
the synthetic config through the runner (EMA teacher, checkpoint)."""
import math
from copy import deepcopy

import pytest
import torch
import torch.nn.functional as F

from helpers import cfg_path, train
from semiseg_mm.models.segmentors import dacs as dacs_module
from semiseg_mm.models.utils import class_mix_masks, full_res_logits
from semiseg_mm.models.utils.photometric import (blur_kernel_size,
                                                 color_jitter,
                                                 from_unit_range,
                                                 gaussian_blur,
                                                 gaussian_kernels, rotate_hue,
                                                 to_unit_range)
from semiseg_mm.registry import MODELS
from test_shared_base import multilevel_segmentor
from test_uda import PRE, SIZE, preprocessed, uda_cfg, uda_root  # noqa: F401

DACS_CFG = cfg_path('dacs/dilatedconvnet_synthetic-uda_dacs.py')


def build(**kwargs):
    cfg = dict(type='DACS', segmentor=multilevel_segmentor(),
               data_preprocessor=PRE)
    cfg.update(kwargs)
    return MODELS.build(cfg)


# --------------------------------------------------------------------- #
# ClassMix
# --------------------------------------------------------------------- #
def test_class_mix_takes_half_the_values_whole():
    lab = torch.tensor([[0, 0, 1, 1], [2, 2, 3, 3], [255, 4, 4, 0],
                        [1, 2, 3, 4]])
    labels = torch.stack([lab, lab[:, :2].repeat(1, 2)])
    torch.manual_seed(0)
    masks = class_mix_masks(labels)
    assert masks.shape == labels.shape and masks.dtype == torch.bool
    for lab_i, m in zip(labels, masks):
        values = lab_i.unique()
        chosen = lab_i[m].unique()
        # ceil(n / 2) of the values present, ignore index counted
        assert len(chosen) == math.ceil(len(values) / 2)
        for v in chosen:  # each chosen value is taken whole
            assert m[lab_i == v].all()
        assert not m[~torch.isin(lab_i, chosen)].any()
    torch.manual_seed(0)
    assert torch.equal(class_mix_masks(labels), masks)


# --------------------------------------------------------------------- #
# photometric augmentation
# --------------------------------------------------------------------- #
def test_unit_range_round_trip():
    x = torch.randn(2, 3, 5, 5)
    mean, std = [120.0, 110.0, 100.0], [60.0, 55.0, 50.0]
    u = to_unit_range(x, mean, std)
    assert torch.allclose(u[0, 1], (x[0, 1] * 55 + 110) / 255)
    assert torch.allclose(from_unit_range(u, mean, std), x, atol=1e-6)


def test_hue_rotation_by_hand():
    x = torch.rand(3, 3, 4, 4)
    # no turn and a full turn leave colours; grey has no chroma to rotate
    assert torch.allclose(rotate_hue(x, torch.zeros(3)), x, atol=1e-5)
    assert torch.allclose(rotate_hue(x, torch.ones(3)), x, atol=1e-5)
    grey = torch.full((1, 3, 2, 2), 0.4)
    assert torch.allclose(rotate_hue(grey, torch.tensor([0.3])), grey,
                          atol=1e-6)
    # luma (0.299 R + 0.587 G + 0.114 B) is kept by any rotation
    w = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    y = rotate_hue(x, torch.tensor([0.1, 0.25, 0.4]))
    assert torch.allclose((y * w).sum(1), (x * w).sum(1), atol=1e-5)
    assert not torch.allclose(y, x, atol=1e-2)


def test_color_jitter_strength_zero_and_prob_zero_are_identity():
    x = torch.rand(4, 3, 6, 6)
    assert torch.allclose(color_jitter(x, 0.0), x, atol=1e-5)
    assert torch.equal(color_jitter(x, 0.5, prob=0.0), x)
    y = color_jitter(x, 0.25)
    assert y.min() >= 0 and y.max() <= 1 and not torch.allclose(y, x)
    with pytest.raises(ValueError, match='strength'):
        color_jitter(x, -0.1)


def test_gaussian_blur_kernels_by_hand():
    k = gaussian_kernels(torch.tensor([1.0]), 3)[0]
    e = math.exp(-0.5)
    assert torch.allclose(k, torch.tensor([e, 1.0, e]) / (1 + 2 * e))
    # DACS: an odd kernel about a tenth of the side
    assert [blur_kernel_size(n) for n in (32, 64, 512)] == [5, 7, 53]
    flat = torch.full((2, 3, 16, 16), 0.7)
    assert torch.allclose(gaussian_blur(flat), flat, atol=1e-6)
    x = torch.rand(2, 3, 16, 16)
    assert torch.equal(gaussian_blur(x, prob=0.0), x)
    y = gaussian_blur(x)
    assert y.shape == x.shape and y.std() < x.std()
    with pytest.raises(ValueError, match='sigma_range'):
        gaussian_blur(x, sigma_range=(0.0, 1.0))


# --------------------------------------------------------------------- #
# the mixed targets and the loss
# --------------------------------------------------------------------- #
def crafted(model, monkeypatch, confident_share):
    """Fixed teacher probabilities (class 2 everywhere, confidence above
    0.968 on the first ``confident_share`` of the rows) and a fixed mix
    mask (the left half)."""
    inputs, samples = preprocessed(model)
    n = inputs['target'].shape[0]
    probs = torch.full((n, 3, SIZE, SIZE), 0.05)
    probs[:, 2] = 0.9
    rows = int(SIZE * confident_share)
    probs[:, :, :rows] = 0.01
    probs[:, 2, :rows] = 0.98
    monkeypatch.setattr(model, 'teacher_probs',
                        lambda x, source='teacher': probs.clone())
    mask = torch.zeros(n, SIZE, SIZE, dtype=torch.bool)
    mask[..., :SIZE // 2] = True
    monkeypatch.setattr(dacs_module, 'class_mix_masks',
                        lambda gt, generator=None: mask)
    return inputs, samples, mask, rows


def test_mixed_images_labels_and_uniform_weight(monkeypatch):
    model = build(uda_cfg=dict(strong_aug=None))
    inputs, samples, mask, rows = crafted(model, monkeypatch, 0.25)
    carry = {}
    out = model.student_target_inputs(inputs, samples, carry)
    x_mix = out['target']
    m = mask.unsqueeze(1)
    assert torch.equal(x_mix[m.expand_as(x_mix)],
                       inputs['source'][m.expand_as(x_mix)])
    assert torch.equal(x_mix[~m.expand_as(x_mix)],
                       inputs['target'][~m.expand_as(x_mix)])
    assert torch.equal(out['source'], inputs['source'])
    labels, weight, valid = carry['mix']
    gt = torch.stack([s.gt_sem_seg.data[0] for s in samples['source']])
    assert torch.equal(labels[mask], gt[mask])
    assert (labels[~mask] == 2).all()  # the teacher's argmax
    # source pixels weigh 1; target pixels the share of confident pixels
    assert (weight[mask] == 1).all()
    assert torch.allclose(weight[~mask], torch.tensor(rows / SIZE))
    assert valid.all()
    assert carry['mix_stats']['share'].item() == pytest.approx(rows / SIZE)


def test_pixel_weight_is_the_acceptance_and_pasted_ignore_counts_zero(
        monkeypatch):
    model = build(uda_cfg=dict(strong_aug=None, pixel_weight='pixel'))
    inputs, samples, mask, rows = crafted(model, monkeypatch, 0.5)
    samples['source'][0].gt_sem_seg.data[0, 0, :4] = 255
    carry = {}
    model.student_target_inputs(inputs, samples, carry)
    labels, weight, _ = carry['mix']
    target = ~mask
    expected = torch.zeros(SIZE, SIZE)
    expected[:rows] = 1.0
    assert torch.equal(weight[0][target[0]], expected[target[0]])
    assert (weight[0, 0, :4] == 0).all()  # pasted ignore pixels
    assert (labels >= 0).all() and (labels < 3).all()


def test_mixed_loss_by_hand(monkeypatch):
    model = build(uda_cfg=dict(strong_aug=None, mix_weight=0.5))
    inputs, samples, mask, rows = crafted(model, monkeypatch, 0.25)
    carry = {}
    x_mix = model.student_target_inputs(inputs, samples, carry)['target']
    labels, weight, _ = carry['mix']
    losses = model.loss(inputs, samples)
    with torch.no_grad():  # same train-mode pass of the mixed batch alone
        logits = full_res_logits(model.segmentor, x_mix)
    ce = F.cross_entropy(logits, labels, reduction='none')
    expected = 0.5 * (ce * weight).mean()
    assert losses['mix.loss_ce'].item() == pytest.approx(expected.item(),
                                                         rel=1e-5)
    assert 'src.decode.loss_ce' in losses and 'src.aux.loss_ce' in losses
    assert losses['mix.pseudo_weight'].item() == pytest.approx(rows / SIZE)


def test_gradients_reach_the_segmentor_only():
    model = build()
    inputs, samples = preprocessed(model)
    losses = model.loss(inputs, samples)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert all(p.grad is None for p in model.teacher.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.segmentor.parameters())
    assert model.predict_branches == ('segmentor', 'teacher')


def test_strong_aug_changes_the_mixed_image_only_photometrically(monkeypatch):
    model = build()
    inputs, samples, mask, _ = crafted(model, monkeypatch, 0.25)
    torch.manual_seed(1)
    carry = {}
    x_aug = model.student_target_inputs(inputs, samples, carry)['target']
    plain = build(uda_cfg=dict(strong_aug=None))
    monkeypatch.setattr(plain, 'teacher_probs', model.teacher_probs)
    plain_carry = {}
    x_mix = plain.student_target_inputs(inputs, samples,
                                        plain_carry)['target']
    assert x_aug.shape == x_mix.shape and not torch.allclose(x_aug, x_mix)
    # the mixed labels and weights do not depend on the photometric draw
    for a, b in zip(carry['mix'], plain_carry['mix']):
        assert torch.equal(a, b)


# --------------------------------------------------------------------- #
# errors
# --------------------------------------------------------------------- #
def test_config_errors_name_the_key():
    with pytest.raises(ValueError, match='pixel_weight'):
        build(uda_cfg=dict(pixel_weight='soft'))
    with pytest.raises(ValueError, match="strong_aug key.*'hue'"):
        build(uda_cfg=dict(strong_aug=dict(hue=0.1)))
    with pytest.raises(ValueError, match='class_prior'):
        build(uda_cfg=dict(class_prior=dict(file='x.json')))
    with pytest.raises(ValueError, match='pseudo_label_filter'):
        MODELS.build(dict(type='MinEnt', segmentor=multilevel_segmentor(),
                          data_preprocessor=PRE,
                          pseudo_label_filter=dict(type='ConfidenceFilter')))


def test_source_and_target_batches_must_match():
    model = build()
    inputs, samples = preprocessed(model)
    inputs = dict(inputs, target=inputs['target'][:1])
    samples = dict(samples, target=samples['target'][:1])
    with pytest.raises(ValueError, match='source_ratio'):
        model.loss(inputs, samples)


# --------------------------------------------------------------------- #
# the synthetic config through the runner
# --------------------------------------------------------------------- #
def test_synthetic_config_trains_with_an_ema_teacher(uda_root, tmp_path):
    cfg = uda_cfg(DACS_CFG, uda_root, str(tmp_path / 'run'), 2)
    cfg.custom_hooks = list(cfg.custom_hooks) + [
        dict(type='SemiVisualizationHook', interval=2)
    ]
    runner = train(cfg)
    model = runner.model
    student = dict(model.segmentor.named_parameters())
    teacher = dict(model.teacher.named_parameters())
    # after 2 EMA updates the teacher is neither the initial copy nor the
    # student
    assert any(not torch.equal(teacher[k], student[k]) for k in student)
    metrics = runner.val_loop.run()
    assert 0 <= metrics['mIoU'] <= 100
    assert list((tmp_path / 'run').rglob('semi_2.png'))
    ckpt = torch.load(str(tmp_path / 'run' / 'iter_2.pth'),
                      map_location='cpu')
    keys = {k.split('.')[0] for k in ckpt['state_dict']}
    assert {'segmentor', 'teacher', 'pseudo_label_filter'} >= keys >= {
        'segmentor', 'teacher'}


def test_augmentation_works_in_the_preprocessors_normalisation(monkeypatch):
    """With a normalising preprocessor, a jitter of strength 0 and no blur
    give back the mixed image: the augmentation undoes and redoes the
    preprocessor's mean / std."""
    pre = dict(PRE, data_preprocessor=dict(
        PRE['data_preprocessor'], mean=[120.0, 110.0, 100.0],
        std=[60.0, 55.0, 50.0]))
    model = build(data_preprocessor=pre,
                  uda_cfg=dict(strong_aug=dict(jitter_strength=0.0,
                                               blur_prob=0.0)))
    assert model._normalisation() == ([120.0, 110.0, 100.0],
                                      [60.0, 55.0, 50.0])
    x = torch.rand(2, 3, 8, 8) * 2 - 1
    assert torch.allclose(model.augment(x), x, atol=1e-4)
    plain = build(uda_cfg=dict(strong_aug=None))
    assert torch.equal(plain.augment(x), x)
    assert build()._normalisation() == ([0.0] * 3, [1.0] * 3)


def test_iteration_generator_repeats_per_seed_and_iteration():
    from mmengine.logging import MessageHub
    from semiseg_mm.models.utils import iteration_generator
    hub = MessageHub.get_current_instance()
    torch.manual_seed(3)
    hub.update_info('iter', 5)
    a = torch.rand(4, generator=iteration_generator())
    torch.rand(10)  # the global generator's state does not matter
    b = torch.rand(4, generator=iteration_generator())
    hub.update_info('iter', 6)
    c = torch.rand(4, generator=iteration_generator())
    torch.manual_seed(4)
    hub.update_info('iter', 5)
    d = torch.rand(4, generator=iteration_generator())
    hub.update_info('iter', 0)
    assert torch.equal(a, b)
    assert not torch.equal(a, c) and not torch.equal(a, d)


def test_resume_equals_uninterrupted(uda_root, tmp_path):
    """Student, EMA teacher and optimiser after N iterations + resume to 2N
    equal a 2N run: the mix masks and augmentations are drawn from the
    iteration's generator, not from the global state a resume loses."""
    n = 2

    def run(work, iters, resume=False):
        cfg = uda_cfg(DACS_CFG, uda_root, work, iters, val=False)
        cfg.default_hooks.checkpoint.interval = n
        return train(cfg, resume=resume)

    ref = run(str(tmp_path / 'full'), 2 * n).model.state_dict()
    half = str(tmp_path / 'half')
    run(half, n)
    got = run(half, 2 * n, resume=True).model.state_dict()
    assert {k.split('.')[0] for k in got} >= {'segmentor', 'teacher'}
    for k in ref:
        assert torch.equal(got[k], ref[k]), k


def test_teacher_normalises_the_target_batch_by_its_own_statistics():
    """teacher_norm='batch' (the official training-mode EMA model): the
    teacher's BatchNorm uses the batch statistics and leaves its running
    statistics and its eval mode as they were; 'running' is eval mode."""
    from torch.nn.modules.batchnorm import _BatchNorm
    model = build()
    x = torch.randn(2, 3, SIZE, SIZE) * 3 + 5  # far from the running stats
    bns = [m for m in model.teacher.modules() if isinstance(m, _BatchNorm)]
    before = [m.running_mean.clone() for m in bns]
    probs = model.teacher_probs(x)
    assert all(torch.equal(m.running_mean, b) for m, b in zip(bns, before))
    assert not model.teacher.training and not any(m.training for m in bns)
    with torch.no_grad():
        running = full_res_logits(model.teacher, x).softmax(1)
        copy = deepcopy(model.teacher).train()
        ref = full_res_logits(copy, x).softmax(1)
    assert torch.allclose(probs, ref, atol=1e-6)
    assert not torch.allclose(probs, running, atol=1e-3)
    eval_model = build(uda_cfg=dict(teacher_norm='running'))
    eval_model.load_state_dict(model.state_dict())
    assert torch.allclose(eval_model.teacher_probs(x), running, atol=1e-6)
    with pytest.raises(ValueError, match='teacher_norm'):
        build(uda_cfg=dict(teacher_norm='sync'))
