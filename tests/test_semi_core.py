"""Semi-supervised core: EMA, ramp-ups, losses, masks, datasets, sampler,
segmentor base. Expected values are computed by hand in the comments."""
import math
import types

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from semiseg_mm.datasets import (DatasetError, SemiDataset,
                                 SemiSourceSampler, check_source_ratio)
from semiseg_mm.engine import EMATeacherHook, ema_momentum
from semiseg_mm.models.losses import (masked_cross_entropy, softmax_kl_loss,
                                      softmax_mse_loss)
from semiseg_mm.models.utils import (RampUp, cutmix_masks, mix,
                                     pseudo_labels, roll_partner, valid_mask)
from semiseg_mm.registry import MODELS

from helpers import tiny_segmentor

# --------------------------------------------------------------------- #
# EMA teacher
# --------------------------------------------------------------------- #


def test_ema_momentum_warmup():
    # m_t = min(1 - 1/(t+1), m)
    assert ema_momentum(1, 0.99) == pytest.approx(0.5)
    assert ema_momentum(9, 0.99) == pytest.approx(0.9)
    assert ema_momentum(99, 0.99) == pytest.approx(0.99)
    assert ema_momentum(5000, 0.99) == pytest.approx(0.99)
    assert ema_momentum(1, 0.99, warmup=False) == 0.99
    with pytest.raises(ValueError):
        ema_momentum(0, 0.99)


class TwoNets(nn.Module):

    def __init__(self):
        super().__init__()
        self.student = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
        self.teacher = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))


def fake_runner(model, it=0):
    hub = types.SimpleNamespace(update_scalar=lambda *a, **k: None)
    return types.SimpleNamespace(model=model, iter=it, message_hub=hub)


@pytest.mark.parametrize('wrap', [False, True])
def test_ema_hook_copies_then_averages(wrap):
    torch.manual_seed(0)
    net = TwoNets()
    model = nn.DataParallel(net) if wrap else net
    hook = EMATeacherHook(momentum=0.9, warmup=False, buffer_mode='ema')
    runner = fake_runner(model)
    hook.before_train(runner)  # iteration 0: teacher := student
    for s, t in zip(net.student.state_dict().values(),
                    net.teacher.state_dict().values()):
        assert torch.equal(s, t)
    with torch.no_grad():
        for p in net.student.parameters():
            p.add_(1.0)
        net.student[1].running_mean.fill_(2.0)
        net.student[1].num_batches_tracked.fill_(7)
    before = {k: v.clone() for k, v in net.teacher.state_dict().items()}
    student = net.student.state_dict()
    hook.after_train_iter(runner, 0)
    after = net.teacher.state_dict()
    for k in ('0.weight', '0.bias', '1.weight', '1.running_mean'):
        # t = 0.9 t + 0.1 s
        assert torch.allclose(after[k], 0.9 * before[k] + 0.1 * student[k])
    assert after['1.num_batches_tracked'].item() == 7  # integers copied


def test_ema_hook_buffer_modes_and_warmup():
    net = TwoNets()
    hook = EMATeacherHook(momentum=0.99, buffer_mode='copy')
    runner = fake_runner(net)
    hook.before_train(runner)
    net.student[1].running_var.fill_(5.0)
    with torch.no_grad():
        net.student[0].weight.fill_(1.0)
        net.teacher[0].weight.fill_(0.0)
    hook.after_train_iter(runner, 0)  # step 1: m = min(0.5, 0.99)
    assert torch.allclose(net.teacher[1].running_var, torch.full((2, ), 5.))
    assert torch.allclose(net.teacher[0].weight, torch.full((2, 2), 0.5))

    skip = EMATeacherHook(buffer_mode='skip')
    net2 = TwoNets()
    runner2 = fake_runner(net2, it=10)  # resumed: no initial copy
    skip.before_train(runner2)
    net2.student[1].running_var.fill_(3.0)
    skip.after_train_iter(runner2, 0)
    assert torch.allclose(net2.teacher[1].running_var, torch.ones(2))
    with pytest.raises(ValueError, match='buffer_mode'):
        EMATeacherHook(buffer_mode='mean')
    with pytest.raises(AttributeError, match="has no attribute 'student'"):
        EMATeacherHook().before_train(fake_runner(nn.Linear(1, 1)))


# --------------------------------------------------------------------- #
# ramp-ups
# --------------------------------------------------------------------- #


def test_rampups():
    sig = RampUp('sigmoid', rampup_iters=100)
    assert sig(0) == pytest.approx(math.exp(-5))  # exp(-5 (1-0)^2)
    assert sig(50) == pytest.approx(math.exp(-1.25))  # exp(-5 * 0.25)
    assert sig(100) == 1.0 and sig(1000) == 1.0
    lin = RampUp('linear', rampup_iters=10, start_iters=5)
    assert [lin(i) for i in (0, 4, 5, 10, 15, 99)] == [0, 0, 0, .5, 1, 1]
    cos = RampUp('cosine', rampup_iters=4)
    assert cos(2) == pytest.approx(0.5) and cos(1) == pytest.approx(
        (1 - math.cos(math.pi / 4)) / 2)
    assert RampUp('constant', start_iters=3)(2) == 0.0
    assert RampUp('constant', start_iters=3)(3) == 1.0
    with pytest.raises(ValueError, match='kind'):
        RampUp('exp')


# --------------------------------------------------------------------- #
# losses
# --------------------------------------------------------------------- #


def test_softmax_mse_by_hand():
    # one pixel, two classes: student logits (0, 0) -> p = (0.5, 0.5);
    # teacher (0.9, 0.1): mean over classes of (0.4^2, 0.4^2) = 0.16
    s = torch.zeros(1, 2, 1, 1, requires_grad=True)
    t = torch.tensor([0.9, 0.1]).view(1, 2, 1, 1)
    assert softmax_mse_loss(s, t).item() == pytest.approx(0.16)
    # masked: a second pixel identical to the teacher does not count
    s2 = torch.cat([s.detach(), torch.log(t)], dim=3)
    t2 = torch.cat([t, t], dim=3)
    mask = torch.tensor([[[True, False]]])
    assert softmax_mse_loss(s2, t2, mask).item() == pytest.approx(0.16)
    assert softmax_mse_loss(s2, t2).item() == pytest.approx(0.08)
    loss = softmax_mse_loss(s, t.clone().requires_grad_())
    loss.backward()
    assert s.grad is not None and s.grad.abs().sum() > 0


def test_softmax_kl_by_hand():
    # KL(t || s) = sum t log(t / s) = 0.9 ln(1.8) + 0.1 ln(0.2)
    s = torch.zeros(1, 2, 1, 1)
    t = torch.tensor([0.9, 0.1]).view(1, 2, 1, 1)
    expected = 0.9 * math.log(1.8) + 0.1 * math.log(0.2)
    assert softmax_kl_loss(s, t).item() == pytest.approx(expected, rel=1e-5)


def test_masked_cross_entropy_normalises_by_valid_pixels():
    # 2 pixels, uniform logits over 2 classes: ce = ln 2 each.
    logits = torch.zeros(1, 2, 1, 2)
    labels = torch.tensor([[[0, 1]]])
    accept = torch.tensor([[[True, False]]])
    valid = torch.tensor([[[True, True]]])
    # (ln2 * 1 + ln2 * 0) / 2 valid pixels
    assert masked_cross_entropy(logits, labels, accept,
                                valid).item() == pytest.approx(
                                    math.log(2) / 2)
    valid = torch.tensor([[[True, False]]])
    assert masked_cross_entropy(logits, labels, accept,
                                valid).item() == pytest.approx(math.log(2))


# --------------------------------------------------------------------- #
# pseudo-labels, masks, CutMix
# --------------------------------------------------------------------- #


def sample(h, w, img_shape=None, box='none'):
    s = SegDataSample()
    meta = dict(img_shape=img_shape or (h, w))
    if box != 'none':
        meta['cutmix_box'] = box
    s.set_metainfo(meta)
    return s


def test_pseudo_labels_and_masks():
    probs = torch.tensor([[[[0.9, 0.4]], [[0.1, 0.6]]]])  # (1, 2, 1, 2)
    labels, conf, accept = pseudo_labels(probs, threshold=0.7)
    assert labels.tolist() == [[[0, 1]]]
    assert conf.flatten().tolist() == pytest.approx([0.9, 0.6])
    assert accept.tolist() == [[[True, False]]]
    v = valid_mask([sample(4, 5, (3, 2)), sample(4, 5)], (4, 5))
    assert v[0].sum() == 6 and v[0, :3, :2].all() and v[1].all()


def test_cutmix_mixes_images_and_targets_identically():
    samples = [sample(4, 4, box=(1, 0, 3, 2)), sample(4, 4, box=None)]
    box = cutmix_masks(samples, (4, 4))
    assert box[0].sum() == 4 and box[0, 0:2, 1:3].all() and not box[1].any()
    partner = roll_partner(2)
    assert partner.tolist() == [1, 0]
    img = torch.stack([torch.zeros(3, 4, 4), torch.ones(3, 4, 4)])
    lab = torch.stack([torch.zeros(4, 4), torch.ones(4, 4)]).long()
    img_m, lab_m = mix((img, lab), box, partner)
    # inside the box of sample 0: sample 1's image and label
    assert (img_m[0, :, 0:2, 1:3] == 1).all() and img_m[0].sum() == 3 * 4
    assert torch.equal(lab_m[0].bool(), box[0])
    assert torch.equal(img_m[1], img[1])
    with pytest.raises(KeyError, match='GenerateCutMixBox'):
        cutmix_masks([sample(4, 4)], (4, 4))


# --------------------------------------------------------------------- #
# datasets and sampler
# --------------------------------------------------------------------- #


def semi_cfg(root, labeled_split, unlabeled_split):
    pipe = [dict(type='LoadImageFromFile'), dict(type='PackSegInputs')]
    common = dict(
        type='SyntheticShapesDataset',
        data_root=root,
        data_prefix=dict(
            img_path='img_dir/train', seg_map_path='ann_dir/train'),
        pipeline=pipe)
    return dict(
        labeled=dict(common, ann_file=labeled_split),
        unlabeled=dict(common, ann_file=unlabeled_split, with_label=False))


def test_semi_dataset(synthetic_root):
    ds = SemiDataset(**semi_cfg(synthetic_root, 'splits/1-4_seed0/'
                                'labeled.txt', 'splits/1-4_seed0/'
                                'unlabeled.txt'))
    assert len(ds.labeled) == 8 and len(ds.unlabeled) == 24
    assert ds.cumulative_sizes == [8, 32]
    assert 'seg_map_path' not in ds.unlabeled.get_data_info(0)


def test_semi_dataset_overlap_and_empty(synthetic_root, tmp_path):
    import os.path as osp
    from semiseg_mm.datasets.splits import read_ids, write_ids
    split = osp.join(synthetic_root, 'splits/1-4_seed0')
    labeled = read_ids(osp.join(split, 'labeled.txt'))
    overlap = tmp_path / 'unlabeled.txt'
    write_ids(str(overlap),
              read_ids(osp.join(split, 'unlabeled.txt')) + labeled[:2])
    with pytest.raises(DatasetError, match=r"2 id\(s\) are both labelled .*"
                       f"{labeled[0]}"):
        SemiDataset(**semi_cfg(synthetic_root, 'splits/1-4_seed0/'
                               'labeled.txt', str(overlap)))
    empty = tmp_path / 'empty.txt'
    empty.write_text('\n')
    with pytest.raises(DatasetError, match='lists no ids'):
        SemiDataset(**semi_cfg(synthetic_root, 'splits/1-4_seed0/'
                               'labeled.txt', str(empty)))
    cfg = semi_cfg(synthetic_root, 'splits/1-4_seed0/labeled.txt', '')
    cfg['unlabeled'].pop('ann_file')
    cfg['unlabeled']['split'] = dict(fraction=1.0, subset='unlabeled')
    with pytest.raises(DatasetError, match='yields no images'):
        SemiDataset(**cfg)


def test_sampler_ratio_must_fit_batch(synthetic_root):
    assert check_source_ratio(16, [1, 1], 2) == [8, 8]
    assert check_source_ratio(10, [1, 4], 2) == [2, 8]
    with pytest.raises(ValueError, match=r'source_ratio=\[1, 2\] with '
                       r'batch_size=16 does not fit'):
        check_source_ratio(16, [1, 2], 2)
    with pytest.raises(ValueError, match='one ratio per source'):
        check_source_ratio(4, [1, 1, 2], 2)
    ds = SemiDataset(**semi_cfg(synthetic_root, 'splits/1-4_seed0/'
                                'labeled.txt', 'splits/1-4_seed0/'
                                'unlabeled.txt'))
    sampler = SemiSourceSampler(ds, batch_size=4, source_ratio=[1, 3],
                                seed=0)
    it = iter(sampler)
    batch = [next(it) for _ in range(4)]
    assert sum(i < 8 for i in batch) == 1  # 1 labelled, 3 unlabelled
    with pytest.raises(ValueError, match='does not fit'):
        SemiSourceSampler(ds, batch_size=4, source_ratio=[1, 2])


# --------------------------------------------------------------------- #
# segmentor base
# --------------------------------------------------------------------- #

TINY = tiny_segmentor()
PRE = dict(
    type='mmdet.MultiBranchDataPreprocessor',
    data_preprocessor=dict(type='SegDataPreProcessor', size=(16, 16)))


def build(kind='MeanTeacher', **cfg):
    return MODELS.build(
        dict(type=kind, segmentor=TINY, data_preprocessor=PRE, **cfg))


def labelled(n, h=16, w=16):
    out = []
    for _ in range(n):
        s = sample(h, w, box=(0, 0, 8, 8))
        s.gt_sem_seg = PixelData(data=torch.randint(0, 3, (1, h, w)))
        out.append(s)
    return out


def batch(n=2):
    return ({
        'sup': torch.randn(n, 3, 16, 16),
        'unsup_teacher': torch.randn(n, 3, 16, 16),
        'unsup_student': torch.randn(n, 3, 16, 16)
    }, {
        'sup': labelled(n),
        'unsup_teacher': [sample(16, 16) for _ in range(n)],
        'unsup_student': [sample(16, 16, box=(0, 0, 8, 8)) for _ in range(n)]
    })


def test_predict_on_must_be_a_branch():
    with pytest.raises(ValueError, match=r"predict_on='ema' is not a "
                       r"branch; choose one of \('student', 'teacher'\)"):
        build(semi_test_cfg=dict(predict_on='ema'))
    model = build()
    model.semi_test_cfg['predict_on'] = 'nope'
    with pytest.raises(ValueError, match='is not a branch'):
        model.predict(torch.randn(1, 3, 16, 16), [sample(16, 16)])
    fm = build('FixMatch', semi_train_cfg=dict(pseudo_source='student'))
    assert not hasattr(fm, 'teacher') and fm.predict_branches == (
        'student', )


def test_teacher_is_frozen_and_stays_in_eval():
    model = build()
    model.train()
    assert model.student.training and not model.teacher.training
    assert not any(p.requires_grad for p in model.teacher.parameters())


def test_missing_branch_is_explained():
    model = build()
    inputs, samples = batch()
    inputs.pop('unsup_student')
    with pytest.raises(ValueError, match="no 'unsup_student' images"):
        model.loss(inputs, samples)


def test_mean_teacher_loss_matches_hand_computation():
    torch.manual_seed(0)
    model = build(semi_train_cfg=dict(unsup_weight=3.0))
    inputs, samples = batch()
    losses = model.loss(inputs, samples)
    from semiseg_mm.models.utils import full_res_logits
    with torch.no_grad():
        t = full_res_logits(model.teacher,
                            inputs['unsup_teacher']).softmax(1)
    # the student's unlabelled logits from a joint pass equal a separate
    # pass only in eval mode (BatchNorm statistics), so compare in eval
    model.student.eval()
    losses_eval = model.loss(inputs, samples)
    s = full_res_logits(model.student, inputs['unsup_student'])
    expected = 3.0 * ((s.softmax(1) - t)**2).mean()
    assert losses_eval['unsup.loss_cons'].item() == pytest.approx(
        expected.item(), rel=1e-5)
    assert set(losses) >= {
        'sup.decode.loss_ce', 'sup.decode.acc_seg', 'unsup.loss_cons'
    }
    # gradients reach the student only
    model.student.train()
    total = sum(v for k, v in model.loss(inputs, samples).items()
                if 'loss' in k)
    total.backward()
    assert all(p.grad is not None for p in model.student.parameters()
               if p.requires_grad)
    assert all(p.grad is None for p in model.teacher.parameters())


def test_mean_teacher_cutmix_mixes_views_and_teacher_targets():
    # box (0, 0, 8, 8) on both student samples, partner = the other image
    torch.manual_seed(0)
    model = build(semi_train_cfg=dict(unsup_weight=1.0, cutmix=True))
    model.student.eval()
    inputs, samples = batch()
    losses = model.loss(inputs, samples)
    from semiseg_mm.models.utils import full_res_logits
    with torch.no_grad():
        t = full_res_logits(model.teacher,
                            inputs['unsup_teacher']).softmax(1)
    x = inputs['unsup_student'].clone()
    x[0, :, :8, :8] = inputs['unsup_student'][1, :, :8, :8]
    x[1, :, :8, :8] = inputs['unsup_student'][0, :, :8, :8]
    tm = t.clone()
    tm[0, :, :8, :8] = t[1, :, :8, :8]
    tm[1, :, :8, :8] = t[0, :, :8, :8]
    s = full_res_logits(model.student, x).softmax(1)
    assert losses['unsup.loss_cons'].item() == pytest.approx(
        ((s - tm)**2).mean().item(), rel=1e-5)
    # without CutMix the same batch gives the plain consistency
    model.use_cutmix = False
    s0 = full_res_logits(model.student, inputs['unsup_student']).softmax(1)
    assert model.loss(inputs, samples)['unsup.loss_cons'].item() == \
        pytest.approx(((s0 - t)**2).mean().item(), rel=1e-5)
    assert ((s0 - t)**2).mean().item() != pytest.approx(
        ((s - tm)**2).mean().item(), rel=1e-4)


def test_fixmatch_uses_confident_mixed_pseudo_labels():
    torch.manual_seed(0)
    model = build('FixMatch',
                  semi_train_cfg=dict(threshold=0.0, unsup_weight=2.0))
    model.student.eval()  # deterministic BatchNorm for the comparison
    inputs, samples = batch()
    losses = model.loss(inputs, samples)
    from semiseg_mm.models.utils import full_res_logits
    with torch.no_grad():
        probs = full_res_logits(model.teacher,
                                inputs['unsup_teacher']).softmax(1)
    labels = probs.argmax(1)
    box = torch.zeros(2, 16, 16, dtype=torch.bool)
    box[:, :8, :8] = True
    x = inputs['unsup_student'].clone()
    x[0, :, :8, :8] = inputs['unsup_student'][1, :, :8, :8]
    x[1, :, :8, :8] = inputs['unsup_student'][0, :, :8, :8]
    y = labels.clone()
    y[0, :8, :8] = labels[1, :8, :8]
    y[1, :8, :8] = labels[0, :8, :8]
    expected = 2.0 * F.cross_entropy(full_res_logits(model.student, x), y)
    assert losses['unsup.loss_ce'].item() == pytest.approx(
        expected.item(), rel=1e-5)
    assert losses['unsup.accept_ratio'].item() == 1.0
    # a threshold no pixel reaches: nothing is learnt from unlabelled data
    model.threshold = 1.01
    assert model.loss(inputs, samples)['unsup.loss_ce'].item() == 0.0


def test_fixmatch_feature_perturbation_stream():
    """UniMatch's FP stream: the weak view with Dropout2d on the backbone
    features learns the un-mixed weak-view pseudo-labels."""
    torch.manual_seed(0)
    fp = dict(drop_prob=0.5, weight=0.25)
    model = build('FixMatch',
                  semi_train_cfg=dict(threshold=0.0, unsup_weight=2.0,
                                      feature_perturbation=fp))
    model.student.eval()  # deterministic BatchNorm for the comparison
    inputs, samples = batch()
    torch.manual_seed(1)
    losses = model.loss(inputs, samples)
    from semiseg_mm.models.utils import full_res_logits
    with torch.no_grad():
        labels = full_res_logits(model.teacher,
                                 inputs['unsup_teacher']).softmax(1).argmax(1)
    # the same dropout masks: replay the RNG (the teacher pass and CutMix
    # draw nothing from it) and drop each feature level of the weak view
    torch.manual_seed(1)
    feats = model.student.extract_feat(inputs['unsup_teacher'])
    dropped = [F.dropout2d(f, 0.5, training=True) for f in feats]
    logits = model.student.decode_head.forward(dropped)
    logits = F.interpolate(logits, (16, 16), mode='bilinear')
    expected = 2.0 * 0.25 * F.cross_entropy(logits, labels)
    assert losses['unsup.loss_fp'].item() == pytest.approx(
        expected.item(), rel=1e-5)
    # the stream really drops channels: its logits are not the clean ones
    clean = F.interpolate(model.student.decode_head.forward(feats),
                          (16, 16), mode='bilinear')
    assert (clean - logits).abs().max() > 0.1
    # the strong-view loss is unchanged by the extra stream
    plain = build('FixMatch',
                  semi_train_cfg=dict(threshold=0.0, unsup_weight=2.0))
    plain.load_state_dict(model.state_dict())
    plain.student.eval()
    assert plain.loss(inputs, samples)['unsup.loss_ce'].item() == \
        pytest.approx(losses['unsup.loss_ce'].item(), rel=1e-5)
    assert 'unsup.loss_fp' not in plain.loss(inputs, samples)
    # gradients reach the student through the feature stream
    model.student.train()
    model.loss(inputs, samples)['unsup.loss_fp'].backward()
    assert all(p.grad is not None
               for p in model.student.backbone.parameters())
    from semiseg_mm.models.utils import joint_forward
    with pytest.raises(ValueError, match='1 perturb entries for 2 extra'):
        joint_forward(model.student, inputs['sup'], samples['sup'],
                      [inputs['unsup_student'], inputs['unsup_teacher']],
                      perturb=[None])
    for bad in (dict(drop_prob=1.0), dict(drop=0.5)):
        with pytest.raises(ValueError, match='feature_perturbation'):
            build('FixMatch',
                  semi_train_cfg=dict(feature_perturbation=bad))


def test_unknown_semi_train_keys_are_refused():
    # a typo would otherwise train silently with the default value
    with pytest.raises(ValueError, match=r"FixMatch: unknown semi_train_cfg "
                       r"key\(s\) \['treshold'\]; known: .*'threshold'"):
        build('FixMatch', semi_train_cfg=dict(treshold=0.5))
    with pytest.raises(ValueError, match=r"MeanTeacher: .*\['threshold'\]"):
        build('MeanTeacher', semi_train_cfg=dict(threshold=0.5))
    fm = build('FixMatch', semi_train_cfg=dict(threshold=0.5, cutmix=False))
    assert fm.threshold == 0.5 and not fm.use_cutmix


def test_supervised_warmup_skips_unlabelled_work():
    model = build(
        'FixMatch',
        semi_train_cfg=dict(rampup=dict(kind='linear', start_iters=10)))
    inputs, samples = batch()
    losses = model.loss(inputs, samples)  # iteration 0 < start_iters
    assert not any(k.startswith('unsup') for k in losses)


def test_plain_checkpoint_loads_into_student_and_teacher():
    plain = MODELS.build(TINY)
    model = build()
    missing = model.load_state_dict(plain.state_dict(), strict=False)
    assert not [k for k in missing.missing_keys if 'preprocessor' not in k]
    for name in ('student', 'teacher'):
        sub = getattr(model, name).state_dict()
        for k, v in plain.state_dict().items():
            assert torch.equal(sub[k], v), (name, k)
    # a semi checkpoint (prefixed keys) round-trips unchanged
    again = build()
    again.load_state_dict(model.state_dict())
    assert torch.equal(again.teacher.decode_head.conv_seg.weight,
                       plain.decode_head.conv_seg.weight)
