"""ELN: the ELNFilter on crafted inputs and checkpoints, the segmentor's
losses per stage (what trains, what is frozen), the pseudo-label plumbing
(images and logits reach the filter; FixMatch unchanged), and the synthetic
config training through its three stages and resuming mid-stage exactly."""
import copy

import cv2

import pytest
import torch
import torch.nn as nn
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from helpers import cfg_path, load_cfg, semi_overrides, tiny_segmentor, train
from semiseg_mm.models.filters import ELNFilter, PseudoLabelBatch
from semiseg_mm.models.losses.eln import accepted_cross_entropy
from semiseg_mm.registry import MODELS

C = 3


def tiny_network() -> dict:
    return dict(
        type='ELNNetwork',
        backbone=dict(type='DilatedConvNet', stem_channels=4, channels=8,
                      dilations=(1, 2)),
        decode_head=dict(
            type='FCNHead', in_channels=[4, 8], in_index=[0, 1],
            input_transform='resize_concat', channels=8, num_convs=1,
            concat_input=False, dropout_ratio=0, init_cfg=None))


def crafted_filter(bias: torch.Tensor, threshold=0.5, **kw) -> ELNFilter:
    """A filter whose network outputs ``bias`` everywhere (conv_seg weights
    zeroed): its acceptance is then known."""
    f = ELNFilter(C, tiny_network(), threshold=threshold, **kw)
    seg = f.network.decode_head.conv_seg
    with torch.no_grad():
        seg.weight.zero_()
        seg.bias.fill_(float(bias))
    return f


def batch(n=2, h=8, w=8) -> PseudoLabelBatch:
    logits = torch.randn(n, C, h, w)
    return PseudoLabelBatch.from_probs(
        logits.softmax(1), torch.ones(n, h, w, dtype=torch.bool),
        images=torch.randn(n, 3, h, w), logits=logits)


# ---------------------------------------------------------------------- #
# the network and the filter
# ---------------------------------------------------------------------- #
def test_eln_network_takes_image_entropy_logits_and_gives_one_logit():
    net = MODELS.build(dict(tiny_network(), num_classes=C))
    assert net.in_channels == 3 + 1 + C
    assert net.backbone.stem.conv.in_channels == 3 + 1 + C
    out = net(torch.randn(2, 3, 16, 12), torch.randn(2, C, 8, 6))
    assert out.shape == (2, 1, 16, 12)
    with pytest.raises(ValueError, match='judges 3-class predictions, got 5'):
        net(torch.randn(1, 3, 8, 8), torch.randn(1, 5, 8, 8))


@pytest.mark.parametrize('bias, threshold, accepted', [
    (2.0, 0.5, True),     # sigmoid 0.88 > 0.5
    (-2.0, 0.5, False),   # 0.12
    (0.0, 0.5, False),    # exactly 0.5 is not above the threshold
    (2.0, 0.9, False),    # 0.88 <= 0.9
])
def test_eln_filter_accepts_where_sigmoid_is_above_threshold(
        bias, threshold, accepted):
    f = crafted_filter(torch.tensor(bias), threshold)
    f.eval()
    b = batch()
    mask = f(b)
    assert mask.dtype == torch.bool and mask.shape == b.labels.shape
    assert bool(mask.all()) is accepted and bool(mask.any()) is accepted
    expected = torch.sigmoid(torch.tensor(bias))
    assert torch.allclose(f.probability(b.images, b.logits),
                          expected.expand(2, 8, 8))
    # the probe's mask and score from one ELN pass
    calls = []
    f.network.register_forward_hook(lambda *a: calls.append(1))
    both, score = f.decide(b, with_score=True)
    assert len(calls) == 1 and torch.equal(both, mask)
    assert torch.equal(score, f.score(b)) and f.decide(b)[1] is None


def test_eln_filter_needs_images_and_logits():
    f = crafted_filter(torch.tensor(1.0))
    b = batch()
    b.logits = None
    with pytest.raises(ValueError, match="ELNFilter needs 'logits'"):
        f(b)


def test_eln_filter_loads_a_run_checkpoint_frozen_and_in_eval(tmp_path):
    trained = crafted_filter(torch.tensor(3.0))
    ckpt = tmp_path / 'eln_run.pth'
    torch.save({'state_dict': {
        f'pseudo_label_filter.network.{k}': v
        for k, v in trained.network.state_dict().items()} | {
            'student.decode_head.conv_seg.bias': torch.zeros(C)}}, ckpt)
    f = ELNFilter(C, tiny_network(), checkpoint=str(ckpt))
    assert not f.trainable
    assert all(not p.requires_grad for p in f.parameters())
    f.train()  # the segmentor's runner.train(): the network stays in eval
    assert not f.network.training
    f.network.decode_head.conv_seg.bias.data.fill_(-5.0)
    f.init_weights()  # after the runner's init the checkpoint is reloaded
    assert float(f.network.decode_head.conv_seg.bias[0]) == 3.0
    # the network's own state dict loads too
    own = tmp_path / 'eln_net.pth'
    torch.save(trained.network.state_dict(), own)
    g = ELNFilter(C, tiny_network(), checkpoint=str(own))
    assert torch.equal(g.network.decode_head.conv_seg.bias,
                       trained.network.decode_head.conv_seg.bias)


def test_eln_checkpoint_of_another_class_count_is_named(tmp_path):
    other = ELNFilter(5, tiny_network())
    path = tmp_path / 'eln5.pth'
    torch.save({'state_dict': {
        f'pseudo_label_filter.network.{k}': v
        for k, v in other.network.state_dict().items()}}, path)
    with pytest.raises(ValueError) as e:
        ELNFilter(C, tiny_network(), checkpoint=str(path))
    msg = str(e.value)
    assert str(path) in msg and 'another class count' in msg
    assert 'pseudo_label_filter.network.backbone' in msg
    assert '3 classes, 7 input channels' in msg
    with pytest.raises(KeyError, match='holds no ELN weights'):
        empty = tmp_path / 'empty.pth'
        torch.save({'state_dict': {'student.x': torch.zeros(1)}}, empty)
        ELNFilter(C, tiny_network(), checkpoint=str(empty))
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        ELNFilter(C, tiny_network(), checkpoint=str(tmp_path / 'missing.pth'))


def test_accepted_cross_entropy_averages_over_accepted_pixels():
    logits = torch.zeros(1, 2, 1, 4)
    logits[0, 0, 0] = torch.tensor([2.0, 0.0, -2.0, 0.0])
    labels = torch.zeros(1, 1, 4, dtype=torch.long)
    accept = torch.tensor([[[True, True, False, False]]])
    valid = torch.tensor([[[True, False, True, True]]])
    ce = torch.nn.functional.cross_entropy(logits, labels,
                                           reduction='none')[0, 0]
    # accepted and valid: pixel 0 only
    assert torch.allclose(accepted_cross_entropy(logits, labels, accept,
                                                 valid), ce[0])
    assert torch.allclose(accepted_cross_entropy(logits, labels, accept),
                          (ce[0] + ce[1]) / 2)
    none = torch.zeros_like(accept)
    assert float(accepted_cross_entropy(logits, labels, none)) == 0.0


# ---------------------------------------------------------------------- #
# the segmentor
# ---------------------------------------------------------------------- #
def eln_model(stages=((0, 2), (2, 4), (4, 6)), **semi) -> nn.Module:
    seg = tiny_segmentor(C)
    seg.update(type='ProjectedEncoderDecoder',
               projector=dict(type='ProjectionHead', channels=8,
                              out_channels=4))
    names = ('pretrain', 'eln', 'semi')
    cfg = dict(
        type='ELN',
        segmentor=seg,
        pseudo_label_filter=dict(type='ELNFilter', network=tiny_network()),
        semi_train_cfg=dict(
            dict(contrast=dict(crop_size=4, num_crops=2)), **semi,
            stages=[dict(name=n, begin=b, end=e)
                    for n, (b, e) in zip(names, stages)]))
    return MODELS.build(cfg)


def samples(n, h=8, w=8, label=True):
    out = []
    for _ in range(n):
        s = SegDataSample()
        s.set_metainfo(dict(img_shape=(h, w), pad_shape=(h, w),
                            ori_shape=(h, w)))
        if label:
            s.gt_sem_seg = PixelData(
                data=torch.randint(0, C, (1, h, w)))
        out.append(s)
    return out


def inputs(n=2):
    torch.manual_seed(0)
    return ({'sup': torch.randn(n, 3, 8, 8),
             'unsup_teacher': torch.randn(n, 3, 8, 8),
             'unsup_student': torch.randn(n, 3, 8, 8)},
            {'sup': samples(n), 'unsup_teacher': samples(n, label=False),
             'unsup_student': samples(n, label=False)})


def at_iter(model, it):
    from mmengine.logging import MessageHub
    MessageHub.get_current_instance().update_info('iter', it)
    return model.sync_stage(it)


def grads_of(module):
    return [p.grad for p in module.parameters()]


@pytest.mark.parametrize('it, stage, keys', [
    (0, 'pretrain', {'sup.decode.loss_ce'}),
    (2, 'eln', {'sup.decode.loss_ce', 'aux0.loss_ce', 'aux1.loss_ce',
                'eln.loss_eln'}),
    (4, 'semi', {'sup.decode.loss_ce', 'unsup.loss_ce_weak',
                 'unsup.loss_ce_strong', 'unsup.loss_contrast_weak',
                 'unsup.loss_contrast_strong'}),
])
def test_each_stage_has_its_losses_and_trains_only_its_modules(
        it, stage, keys):
    model = eln_model()
    model.train()
    assert at_iter(model, it).name == stage
    x, s = inputs()
    losses = model.loss(x, s)
    assert {k for k in losses if 'loss' in k} == keys
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward(retain_graph=True)
    eln_grads = [g for g in grads_of(model.eln_network) if g is not None]
    aux_grads = [g for g in grads_of(model.aux_decoders) if g is not None]
    assert bool(eln_grads) is (stage == 'eln')
    # the auxiliary decoders learn only in 'eln'; their CE is constrained,
    # so a random auxiliary decoder (CE far below 20x the main one's) may
    # get zero gradients but never none when it trains
    assert bool(aux_grads) is (stage == 'eln')
    # the encoder never learns from the auxiliary decoders or ELN
    if stage == 'eln':
        model.zero_grad(set_to_none=True)
        (losses['aux0.loss_ce'] + losses['aux1.loss_ce'] +
         losses['eln.loss_eln']).backward()
        assert all(p.grad is None or not p.grad.any()
                   for p in model.student.parameters())
    assert all(p.grad is None for p in model.teacher.parameters())
    frozen = stage != 'eln'
    assert model.eln_network.training is (not frozen)
    assert all(p.requires_grad is not frozen
               for p in model.aux_decoders.parameters())


def test_constrained_aux_ce_switches_off_when_the_decoder_is_too_good():
    model = eln_model(aux_alphas=(1e-6, 1e6))
    model.train()
    at_iter(model, 2)
    losses = model.loss(*inputs())
    # alpha 1e-6: the auxiliary CE is far above 1e-6 x the main CE and
    # counts; alpha 1e6: it is below 1e6 x the main CE and is switched off
    assert float(losses['aux0.loss_ce']) > 0
    assert float(losses['aux1.loss_ce']) == 0.0


def test_semi_stage_learns_only_from_eln_accepted_pixels(monkeypatch):
    model = eln_model()
    model.train()
    at_iter(model, 4)
    seen = {}
    original = model.pseudo_label_filter.forward

    def forward(b):
        seen['images'], seen['logits'] = b.images, b.logits
        return torch.zeros_like(original(b))  # reject every pixel

    monkeypatch.setattr(model.pseudo_label_filter, 'forward', forward)
    x, s = inputs()
    losses = model.loss(x, s)
    assert torch.equal(seen['images'], x['unsup_teacher'])
    assert seen['logits'].shape == (2, C, 8, 8)
    for k in ('unsup.loss_ce_weak', 'unsup.loss_ce_strong',
              'unsup.loss_contrast_weak', 'unsup.loss_contrast_strong'):
        assert float(losses[k]) == 0.0, k


def test_semi_stage_entry_keeps_official_training_when_configured():
    model = eln_model()
    model.stages.stages = tuple(
        type(st)(**{**st.__dict__, 'frozen': ()}) if st.name == 'semi'
        else st for st in model.stages.stages)
    model.train()
    at_iter(model, 4)
    losses = model.loss(*inputs())
    assert {'aux0.loss_ce', 'eln.loss_eln'} <= set(losses)


def test_eln_needs_an_eln_filter_and_a_projector():
    seg = tiny_segmentor(C)
    with pytest.raises(ValueError, match='must be an ELNFilter config'):
        MODELS.build(dict(
            type='ELN', segmentor=seg,
            pseudo_label_filter=dict(type='ConfidenceFilter'),
            semi_train_cfg=dict(stages=[dict(name='semi', begin=0, end=2)])))
    with pytest.raises(ValueError, match='needs a projector'):
        MODELS.build(dict(
            type='ELN', segmentor=seg,
            pseudo_label_filter=dict(type='ELNFilter',
                                     network=tiny_network()),
            semi_train_cfg=dict(stages=[dict(name='semi', begin=0, end=2)])))
    with pytest.raises(ValueError, match=r"unknown semi_train_cfg.contrast "
                       r"key\(s\) \['temp'\]"):
        eln_model(contrast=dict(temp=0.1))


def test_fixmatch_with_eln_filter_gets_images_and_logits():
    cfg = dict(type='FixMatch', segmentor=tiny_segmentor(C),
               pseudo_label_filter=dict(type='ELNFilter',
                                        network=tiny_network()),
               semi_train_cfg=dict(cutmix=False))
    model = MODELS.build(cfg)
    model.train()
    x, s = inputs()
    losses = model.loss(x, s)
    assert torch.isfinite(losses['unsup.loss_ce'])
    labels, accept = model.probe_pseudo_labels(x['unsup_teacher'])
    assert accept.dtype == torch.bool and accept.shape == labels.shape


# ---------------------------------------------------------------------- #
# the synthetic config
# ---------------------------------------------------------------------- #
def eln_cfg(root, work_dir, iters=6, ckpt=None):
    cfg = load_cfg(cfg_path('eln/dilatedconvnet_synthetic_1-16.py'),
                   semi_overrides(root, work_dir, iters, val=False))
    cfg.model.semi_train_cfg.stages = [
        dict(name='pretrain', begin=0, end=2),
        dict(name='eln', begin=2, end=4),
        dict(name='semi', begin=4, end=iters)]
    cfg.model.semi_train_cfg.contrast.crop_size = 8
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint.interval = ckpt or iters
    cfg.custom_hooks = [h for h in cfg.custom_hooks
                        if h.type != 'PseudoLabelHealthHook']
    return cfg


def test_synthetic_config_trains_through_three_stages_and_resumes(
        synthetic_root, tmp_path):
    ref_runner = train(eln_cfg(synthetic_root, str(tmp_path / 'full')))
    ref = ref_runner.model.state_dict()
    assert ref_runner.model.stage.name == 'semi'
    half = str(tmp_path / 'half')
    cfg = eln_cfg(synthetic_root, half, ckpt=5)
    cfg.train_cfg.max_iters = 5
    train(cfg)
    got = train(eln_cfg(synthetic_root, half, ckpt=5),
                resume=True).model.state_dict()
    for k in ref:
        assert torch.equal(got[k], ref[k]), k
    # the ELN weights sit where ELNFilter's checkpoint loader looks
    assert any(k.startswith('pseudo_label_filter.network.') for k in ref)
    f = ELNFilter(6, copy.deepcopy(
        ref_runner.cfg.model.pseudo_label_filter.network),
        checkpoint=str(tmp_path / 'full' / 'iter_6.pth'))
    assert torch.equal(
        f.network.decode_head.conv_seg.weight,
        ref['pseudo_label_filter.network.decode_head.conv_seg.weight'])
    # the pseudo-label report of the trained run: ELN's mask and the best
    # confidence threshold as detectors of wrong pixels
    import sys
    from helpers import REPO
    sys.path.insert(0, REPO + '/tools')
    from pseudo_label_report import report
    cfg_file = str(tmp_path / 'eln_cfg.py')
    ref_runner.cfg.dump(cfg_file)
    fig = report(cfg_file, str(tmp_path / 'full' / 'iter_6.pth'),
                 'ann_dir/train', num=4)
    assert fig['num_images'] == 4
    for k in ('pl_acc', 'wrong_f1', 'conf_best_f1', 'conf_best_threshold',
              'score_best_f1', 'score_best_threshold'):  # ELN's own score
        assert k in fig, k
    # the render tool's probe picture: ELN's score map and the verdicts
    import visualize_semi
    visualize_semi.main([cfg_file, str(tmp_path / 'full' / 'iter_6.pth'),
                         '--out', str(tmp_path / 'vis'), '--probe',
                         'ann_dir/train', '--max-images', '2'])
    pic = cv2.imread(str(tmp_path / 'vis' / 'probe.png'))
    # 2 rows of 128 px panels + titles, and the verdict legend; 7 panels
    # (image, mask, teacher argmax + confidence, ELN score, accepted
    # labels, verdict)
    assert pic.shape[0] == 2 * (128 + 16 + 4) + 18
    assert pic.shape[1] == 7 * 128 + 6 * 4


# ---------------------------------------------------------------------- #
# the projector, and the speed tool per stage
# ---------------------------------------------------------------------- #
def test_projection_head_layers_and_normalisation():
    from semiseg_mm.models.heads import ProjectionHead
    eln = ProjectionHead(8, channels=6, out_channels=4, num_convs=2)
    assert [type(m).__name__ for m in eln.convs] == ['Conv2d', 'ReLU',
                                                     'Conv2d']
    assert eln(torch.randn(2, 8, 5, 5)).shape == (2, 4, 5, 5)
    pcl = ProjectionHead(8, channels=6, out_channels=4, num_convs=3,
                         normalize=True)
    assert [type(m).__name__ for m in pcl.convs] == [
        'Conv2d', 'ReLU', 'Conv2d', 'ReLU', 'Conv2d']
    out = pcl(torch.randn(2, 8, 5, 5))
    assert torch.allclose(out.norm(dim=1), torch.ones(2, 5, 5), atol=1e-5)
    with pytest.raises(ValueError, match='takes 8 channels'):
        eln(torch.randn(1, 3, 2, 2))
    with pytest.raises(ValueError, match='num_convs must be >= 1'):
        ProjectionHead(8, num_convs=0)


def test_projected_segmentor_projects_its_decoder_features():
    seg = tiny_segmentor(C)
    seg.update(type='ProjectedEncoderDecoder',
               projector=dict(type='ProjectionHead', out_channels=4))
    model = MODELS.build(seg)
    assert model.projector.in_channels == 8  # the decode head's channels
    from semiseg_mm.models.utils.forward import forward_parts
    out = forward_parts(model, [torch.randn(2, 3, 8, 8)],
                        with_decoder_feats=True)
    assert model.project(out.decoder_feats[0]).shape[:2] == (2, 4)


def test_speed_tool_measures_each_stage(synthetic_root, tmp_path):
    """tools/benchmark.py --stages: ELN's iteration against the bare passes
    of the networks of each stage (the EMA update only where the teacher
    learns)."""
    from helpers import measure_speed
    from semiseg_mm.benchmark.speed import REFERENCES
    assert 'ELN' in REFERENCES
    res = {at: measure_speed(cfg_path('eln/dilatedconvnet_synthetic_1-16.py'),
                             synthetic_root, 'synthetic', tmp_path, iters=1,
                             warmup=1, at_iter=at)
           for at in (0, 700, 2000)}
    assert [r['stage'] for r in res.values()] == ['pretrain', 'eln', 'semi']
    assert all(r['overhead'] > 0 for r in res.values())
    assert res[0]['ema_s'] is None and res[2000]['ema_s'] is not None
