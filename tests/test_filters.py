"""Pseudo-label filters against hand-computed masks and weights, and their
use by FixMatch and Mean Teacher."""
import math

import pytest
import torch
from mmengine.logging import MessageHub

from helpers import (cfg_path, load_cfg, semi_overrides, tiny_segmentor,
                     train)
from semiseg_mm.models.filters import (ClassAdaptiveThreshold,
                                       ClassBalancedFilter, ConfidenceFilter,
                                       EntropyRankFilter, PseudoLabelBatch,
                                       SoftConfidenceWeight, build_filter,
                                       rank_within_class)
from semiseg_mm.registry import MODELS


def crafted(labels, confidence, num_classes=3, valid=None, **extra):
    """A (1, 1, P) batch whose argmax and max are the given values: the
    chosen class gets ``confidence``, the others share the rest."""
    labels = torch.tensor(labels).view(1, 1, -1)
    conf = torch.tensor(confidence, dtype=torch.float).view(1, 1, -1)
    rest = (1 - conf) / (num_classes - 1)
    probs = rest.unsqueeze(1).repeat(1, num_classes, 1, 1)
    probs.scatter_(1, labels.unsqueeze(1), conf.unsqueeze(1))
    valid = torch.ones_like(labels, dtype=torch.bool) if valid is None else \
        torch.tensor(valid).view(1, 1, -1)
    batch = PseudoLabelBatch.from_probs(probs, valid, **extra)
    assert torch.equal(batch.labels, labels)
    assert torch.allclose(batch.confidence, conf)
    return batch


def flat(mask):
    return mask.flatten().tolist()


def test_confidence_filter_is_the_fixmatch_threshold():
    b = crafted([0, 1, 2, 1], [0.9, 0.5, 0.95, 0.94])
    assert flat(ConfidenceFilter(0.94)(b)) == [False, False, True, True]
    with pytest.raises(ValueError, match=r'threshold must be in \[0, 1\]'):
        ConfidenceFilter(1.5)


def test_rank_within_class():
    labels = torch.tensor([[1, 0, 1, 1, 0, 2]])
    score = torch.tensor([[0.3, 0.9, 0.1, 0.2, 0.5, 0.7]])
    mask = torch.tensor([[True, True, True, True, True, False]])
    index, rank, counts = rank_within_class(labels, score, mask, 3)
    assert index.tolist() == [0, 1, 2, 3, 4]
    # class 1: 0.1 (px 2) < 0.2 (px 3) < 0.3 (px 0); class 0: 0.5 < 0.9
    assert rank.tolist() == [2, 1, 0, 1, 0]
    assert counts.tolist() == [2, 3, 0]


# 10 pixels, 3 classes; confident (>= 0.95) per class: 3, 2, 1
CAT_LABELS = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
CAT_CONF = [0.99, 0.99, 0.99, 0.90, 0.98, 0.97, 0.50, 0.96, 0.60, 0.36]


def test_class_adaptive_threshold_flexmatch_rule():
    b = crafted(CAT_LABELS, CAT_CONF)
    f = ClassAdaptiveThreshold(num_classes=3, threshold=0.95, momentum=0.0,
                               warmup=True).train()
    mask = f(b)
    # sigma = [0.3, 0.2, 0.1]; warm-up: unused = 0.4 > max sigma, so
    # beta = sigma / 0.4 = [0.75, 0.5, 0.25]; M(x) = x / (2 - x) =
    # [0.6, 1/3, 1/7]; thresholds = 0.95 * M
    expected = [0.95 * 0.6, 0.95 / 3, 0.95 / 7]
    assert f.thresholds().tolist() == pytest.approx(expected)
    assert all(flat(mask))  # every pixel passes its class's threshold
    # without warm-up: beta = sigma / 0.3 = [1, 2/3, 1/3]; M = [1, 0.5, 0.2]
    f = ClassAdaptiveThreshold(num_classes=3, threshold=0.95, momentum=0.0,
                               warmup=False).train()
    mask = f(b)
    assert f.thresholds().tolist() == pytest.approx([0.95, 0.475, 0.19])
    # class 0 at 0.90 < 0.95 is rejected; class 1 at 0.50 >= 0.475 kept
    assert flat(mask) == [True, True, True, False] + [True] * 6
    # linear mapping: thresholds 0.95 * beta = [0.95, 0.633, 0.317]; class
    # 1 at 0.50 is now rejected, class 2 at 0.36 still passes
    f = ClassAdaptiveThreshold(num_classes=3, threshold=0.95, momentum=0.0,
                               warmup=False, mapping='linear').train()
    assert flat(f(b)) == [True, True, True, False, True, True, False, True,
                          True, True]


def test_class_adaptive_threshold_running_statistics():
    f = ClassAdaptiveThreshold(num_classes=3, momentum=0.5).train()
    first = crafted([0, 0, 1, 1], [0.99, 0.99, 0.99, 0.5])  # [0.5, 0.25, 0]
    second = crafted([2, 2, 2, 1], [0.99, 0.99, 0.5, 0.5])  # [0, 0, 0.5]
    f(first)
    f(second)
    # running = 0.25 s1 + 0.5 s2, debiased by 1 - 0.5^2: (s1 + 2 s2) / 3
    assert f.estimate().tolist() == pytest.approx([0.5 / 3, 0.25 / 3,
                                                   1.0 / 3])
    before = f.running.clone()
    f.eval()(first)  # no update outside training
    assert torch.equal(f.running, before) and int(f.updates) == 2
    # the statistics are buffers: checkpointed, resumed exactly
    assert set(f.state_dict()) == {'running', 'updates'}


def test_class_balanced_filter_caps_each_class_by_labelled_frequency():
    # 10 pixels: 7 predicted class 0, 2 class 1, 1 class 2
    labels = [0, 0, 0, 0, 0, 0, 0, 1, 1, 2]
    conf = [0.9, 0.8, 0.99, 0.7, 0.95, 0.6, 0.85, 0.9, 0.5, 0.7]
    f = ClassBalancedFilter(num_classes=3, class_freq=[0.5, 0.3, 0.2])
    # caps ceil(1.0 * f * 10) = [5, 3, 2]: class 0 keeps its 5 most
    # confident (0.99, 0.95, 0.9, 0.85, 0.8), drops 0.7 and 0.6
    assert flat(f(crafted(labels, conf))) == [True, True, True, False, True,
                                              False, True, True, True, True]
    # a confidence floor first: 0.75 also drops 0.7 (class 2) and 0.5
    f = ClassBalancedFilter(num_classes=3, class_freq=[0.5, 0.3, 0.2],
                            threshold=0.75, cap=0.8)
    # caps ceil(0.8 * f * 10) = [4, 3, 2]
    assert flat(f(crafted(labels, conf))) == [True, False, True, False, True,
                                              False, True, True, False, False]


def test_class_balanced_filter_follows_labelled_masks():
    f = ClassBalancedFilter(num_classes=3, momentum=0.0).train()
    labelled = torch.tensor([[[0, 0, 0, 1], [1, 2, 255, 255]]])
    labels = [0, 0, 0, 0, 0, 0, 0, 1, 1, 2]
    conf = [0.9, 0.8, 0.99, 0.7, 0.95, 0.6, 0.85, 0.9, 0.5, 0.7]
    mask = f(crafted(labels, conf, labelled=labelled))
    # labelled pixels (255 ignored): 3 / 2 / 1 of 6 -> caps [5, 4, 2]
    assert f.estimate().tolist() == pytest.approx([0.5, 1 / 3, 1 / 6])
    assert sum(flat(mask)[:7]) == 5 and all(flat(mask)[7:])
    with pytest.raises(ValueError, match="needs 'labelled'"):
        f(crafted(labels, conf))
    with pytest.raises(ValueError, match='summing to 1'):
        ClassBalancedFilter(num_classes=3, class_freq=[0.5, 0.5, 0.5])


def entropy(p):
    return -sum(x * math.log(x) for x in p)


def test_entropy_rank_filter_keeps_lowest_entropy_share_per_class():
    # class 0: 4 pixels, class 1: 3 pixels; entropy falls with confidence
    labels = [0, 0, 0, 0, 1, 1, 1]
    conf = [0.5, 0.9, 0.7, 0.95, 0.6, 0.99, 0.8]
    b = crafted(labels, conf)
    f = EntropyRankFilter(num_classes=3, keep=0.5, anneal=False)
    # keep ceil(0.5 * 4) = 2 of class 0 (0.95, 0.9), ceil(1.5) = 2 of
    # class 1 (0.99, 0.8)
    assert flat(f(b)) == [False, True, False, True, False, True, True]
    ent = [entropy([c, (1 - c) / 2, (1 - c) / 2]) for c in conf]
    assert sorted(range(4), key=ent.__getitem__)[:2] == [3, 1]
    # U2PL's annealing: the dropped share shrinks linearly to 0
    hub = MessageHub.get_current_instance()
    hub.update_info('max_iters', 100)
    hub.update_info('iter', 50)
    f = EntropyRankFilter(num_classes=3, keep=0.5, anneal=True)
    assert f.current_keep() == pytest.approx(0.75)
    # keep ceil(0.75 * 4) = 3 of class 0, ceil(2.25) = 3 of class 1
    assert flat(f(b)) == [False, True, True, True, True, True, True]
    hub.update_info('iter', 0)


def test_soft_confidence_weight_is_a_truncated_gaussian():
    conf = [0.9, 0.6, 0.5, 0.4]
    b = crafted([0, 1, 2, 0], conf)
    f = SoftConfidenceWeight(momentum=0.0).train()
    w = f(b).flatten()
    mu = sum(conf) / 4  # momentum 0: this batch's mean and variance
    var = sum((c - mu)**2 for c in conf) / 4
    expected = [1.0 if c >= mu else math.exp(-(c - mu)**2 / (2 * var))
                for c in conf]
    assert w.tolist() == pytest.approx(expected, rel=1e-5)
    assert float(f.mu) == pytest.approx(mu) and w.dtype == torch.float
    # SoftMatch's start: mu = 1/C before any update, then an EMA
    g = SoftConfidenceWeight(momentum=0.5).train()
    g(b)
    assert float(g.mu) == pytest.approx(0.5 / 3 + 0.5 * mu)


def test_build_filter_errors_name_the_key():
    with pytest.raises(TypeError, match="FixMatch: pseudo_label_filter=.*"
                       "treshold"):
        build_filter(dict(type='ConfidenceFilter', treshold=0.5), 3,
                     'FixMatch')
    with pytest.raises(KeyError, match="type 'ConfidenceFiltre' is not "
                       'registered'):
        build_filter(dict(type='ConfidenceFiltre'), 3, 'FixMatch')
    with pytest.raises(TypeError, match='is not a PseudoLabelFilter'):
        build_filter(dict(type='DilatedConvNet'), 3, 'FixMatch')
    # per-class filters get num_classes from the segmentor
    f = build_filter(dict(type='ClassAdaptiveThreshold'), 6, 'FixMatch')
    assert f.running.shape == (6, )


PRE = dict(
    type='mmdet.MultiBranchDataPreprocessor',
    data_preprocessor=dict(type='SegDataPreProcessor', size=(16, 16)))


def build(kind, **kw):
    return MODELS.build(
        dict(type=kind, segmentor=tiny_segmentor(), data_preprocessor=PRE,
             **kw))


def test_fixmatch_takes_a_filter_and_refuses_two_thresholds():
    fm = build('FixMatch', pseudo_label_filter=dict(
        type='ClassAdaptiveThreshold', threshold=0.9))
    assert isinstance(fm.pseudo_label_filter, ClassAdaptiveThreshold)
    assert fm.pseudo_label_filter.running.shape == (3, )
    assert 'pseudo_label_filter.running' in fm.state_dict()
    with pytest.raises(TypeError, match='no single threshold'):
        fm.threshold
    default = build('FixMatch', semi_train_cfg=dict(threshold=0.7))
    assert isinstance(default.pseudo_label_filter, ConfidenceFilter)
    assert default.threshold == 0.7
    with pytest.raises(ValueError, match='put the threshold in the filter'):
        build('FixMatch', semi_train_cfg=dict(threshold=0.7),
              pseudo_label_filter=dict(type='ConfidenceFilter'))


def test_mean_teacher_consistency_covers_accepted_pixels_only():
    from test_semi_core import batch
    torch.manual_seed(0)
    kw = dict(semi_train_cfg=dict(unsup_weight=1.0))
    plain = build('MeanTeacher', **kw)
    plain.student.eval()
    inputs, samples = batch()
    base = plain.loss(inputs, samples)['unsup.loss_cons']
    everything = build('MeanTeacher', pseudo_label_filter=dict(
        type='ConfidenceFilter', threshold=0.0), **kw)
    everything.load_state_dict(plain.state_dict())
    everything.student.eval()
    out = everything.loss(inputs, samples)
    assert out['unsup.loss_cons'].item() == pytest.approx(base.item())
    assert out['unsup.accept_ratio'].item() == 1.0
    nothing = build('MeanTeacher', pseudo_label_filter=dict(
        type='ConfidenceFilter', threshold=1.0), **kw)
    nothing.load_state_dict(plain.state_dict())
    nothing.student.eval()
    out = nothing.loss(inputs, samples)
    assert out['unsup.loss_cons'].item() == 0.0
    assert out['unsup.accept_ratio'].item() == 0.0


FILTERS = [
    dict(type='ConfidenceFilter', threshold=0.5),
    dict(type='ClassAdaptiveThreshold', threshold=0.9),
    dict(type='ClassBalancedFilter', threshold=0.5),
    dict(type='EntropyRankFilter', keep=0.8),
    dict(type='SoftConfidenceWeight'),
]


@pytest.mark.parametrize('filter_cfg', FILTERS, ids=lambda f: f['type'])
def test_fixmatch_synthetic_config_trains_with_each_filter(
        synthetic_root, tmp_path, filter_cfg):
    opts = semi_overrides(synthetic_root, str(tmp_path), 2, val=False)
    # _delete_: replace the config's ConfidenceFilter, not merge into it
    opts['model.pseudo_label_filter'] = dict(filter_cfg, _delete_=True)
    opts['model.semi_train_cfg.rampup'] = None  # unsupervised from step 1
    runner = train(load_cfg(cfg_path('fixmatch/dilatedconvnet_synthetic_1-16'
                                     '.py'), opts))
    assert type(runner.model.pseudo_label_filter).__name__ == \
        filter_cfg['type']
    ratio = runner.message_hub.get_scalar('train/unsup.accept_ratio')
    assert 0.0 <= ratio.current() <= 1.0


def test_stateful_filter_resumes_exactly(synthetic_root, tmp_path):
    """FixMatch with ClassAdaptiveThreshold: weights, EMA teacher and the
    filter's running statistics after N + resume-to-2N == 2N straight."""
    n = 2

    def cfg(work, iters):
        opts = semi_overrides(synthetic_root, work, iters, val=False)
        opts['model.pseudo_label_filter'] = dict(
            _delete_=True, type='ClassAdaptiveThreshold', threshold=0.6)
        opts['model.semi_train_cfg.rampup'] = None
        opts['default_hooks.checkpoint.interval'] = n
        return load_cfg(cfg_path('fixmatch/dilatedconvnet_synthetic_1-16.py'),
                        opts)

    ref = train(cfg(str(tmp_path / 'full'), 2 * n)).model.state_dict()
    half = str(tmp_path / 'half')
    train(cfg(half, n))
    got = train(cfg(half, 2 * n), resume=True).model.state_dict()
    assert int(ref['pseudo_label_filter.updates']) == 2 * n
    for k in ref:
        assert torch.equal(got[k], ref[k]), k


FILTER_DUMP = '''
import os.path as osp

import torch
import torch.distributed as dist
from mmengine.hooks import Hook

from semiseg_mm.engine.hooks import unwrap
from semiseg_mm.registry import HOOKS


@HOOKS.register_module()
class DumpRankFilter(Hook):

    def after_train(self, runner):
        state = unwrap(runner.model).pseudo_label_filter.state_dict()
        torch.save(state, osp.join(runner.work_dir,
                                   f'filter_rank{dist.get_rank()}.pth'))
'''


def test_filter_statistics_agree_across_ranks(synthetic_root, tmp_path):
    """Two gloo processes see different unlabelled batches; the running
    statistics are averaged over ranks, so both apply the same
    thresholds."""
    from test_gct import dist_train
    work = tmp_path / 'dist'
    opts = semi_overrides(synthetic_root, str(work), 3, val=False)
    opts['model.pseudo_label_filter'] = dict(
        _delete_=True, type='ClassAdaptiveThreshold', threshold=0.2)
    opts['model.semi_train_cfg.rampup'] = None
    cfg = load_cfg(cfg_path('fixmatch/dilatedconvnet_synthetic_1-16.py'),
                   opts)
    cfg.custom_imports = dict(imports=['filter_rank_dump'],
                              allow_failed_imports=False)
    cfg.custom_hooks = [dict(type='EMATeacherHook', momentum=0.99),
                        dict(type='DumpRankFilter')]
    (tmp_path / 'filter_rank_dump.py').write_text(FILTER_DUMP)
    cfg_file = str(tmp_path / 'cfg.py')
    cfg.dump(cfg_file)
    dist_train(cfg_file, tmp_path)
    r0 = torch.load(work / 'filter_rank0.pth')
    r1 = torch.load(work / 'filter_rank1.pth')
    assert int(r0['updates']) == 3 and r0['running'].sum() > 0
    assert torch.equal(r0['running'], r1['running'])


# --------------------------------------------------------------------- #
# GCT's flaw-map choice
GCT_CFG = cfg_path('gct/dilatedconvnet_synthetic_1-16.py')


def gct_checkpoint(path, num_classes=3, extra=True):
    """A GCT-run-like checkpoint: the synthetic GCT config's flaw detector
    (for ``num_classes``) under ``flaw_detector.``, and a task-model key."""
    from mmengine.config import Config
    det_cfg = Config.fromfile(GCT_CFG).model.flaw_detector.to_dict()
    fd = MODELS.build(dict(det_cfg, in_channels=3 + num_classes))
    state = {f'flaw_detector.{k}': v for k, v in fd.state_dict().items()}
    if extra:
        state['model1.decode_head.conv_seg.bias'] = torch.zeros(num_classes)
    torch.save({'state_dict': state}, path)
    return det_cfg, fd


def test_flaw_map_filter_accepts_processed_flaw_at_most_xi(tmp_path):
    """GCT's processing by hand (blur of kernel 1: none): clamp at 0, a map
    whose maximum is <= clear_threshold is cleared (all accepted), others
    min-max normalised per image; accepted where <= xi (at xi too)."""
    from semiseg_mm.models.filters import FlawMapFilter
    det_cfg, fd = gct_checkpoint(tmp_path / 'gct.pth')
    f = MODELS.build(dict(type='FlawMapFilter', num_classes=3,
                          checkpoint=str(tmp_path / 'gct.pth'),
                          detector=det_cfg, xi=0.5, blur_divisor=1000))
    assert isinstance(f, FlawMapFilter) and not f.trainable
    assert torch.equal(f.network.classifier.weight, fd.classifier.weight)
    raw = torch.tensor([
        [[-0.2, 0.0, 0.5], [1.0, 1.5, 2.0]],  # -> 0, 0, .25, .5, .75, 1
        [[0.05, 0.02, 0.0], [0.08, 0.1, 0.05]],  # max 0.1: cleared
    ]).unsqueeze(1)
    seen = {}

    def detector(images, probs):
        seen['shapes'] = (tuple(images.shape), tuple(probs.shape))
        seen['calls'] = seen.get('calls', 0) + 1
        return raw

    f.network.forward = detector
    probs = torch.full((2, 3, 2, 3), 1 / 3)
    batch = PseudoLabelBatch.from_probs(
        probs, torch.ones(2, 2, 3, dtype=torch.bool),
        images=torch.zeros(2, 3, 2, 3))
    mask = f(batch)
    assert seen['shapes'] == ((2, 3, 2, 3), (2, 3, 2, 3))
    assert mask[0].tolist() == [[True, True, True], [True, False, False]]
    assert mask[1].all()
    assert torch.allclose(f.score(batch)[0],
                          1 - torch.tensor([[0, 0, .25], [.5, .75, 1.]]))
    # the probe's mask and score from one detector pass
    seen['calls'] = 0
    both, score = f.decide(batch, with_score=True)
    assert seen['calls'] == 1
    assert torch.equal(both, mask) and torch.equal(score, f.score(batch))
    assert f.decide(batch)[1] is None
    with pytest.raises(ValueError, match="FlawMapFilter needs 'images'"):
        f(PseudoLabelBatch.from_probs(probs, batch.valid))


def test_flaw_map_filter_checkpoint_errors_name_file_and_key(tmp_path):
    det_cfg, _ = gct_checkpoint(tmp_path / 'gct5.pth', num_classes=5)
    build = dict(type='FlawMapFilter', num_classes=3, detector=det_cfg)
    with pytest.raises(ValueError, match='checkpoint is required'):
        MODELS.build(build)
    with pytest.raises(ValueError) as e:
        MODELS.build(dict(build, checkpoint=str(tmp_path / 'gct5.pth')))
    msg = str(e.value)
    assert 'gct5.pth' in msg and 'another class count' in msg
    assert 'flaw_detector.convs.0.weight' in msg
    assert '3 classes, 6 input channels' in msg
    empty = tmp_path / 'empty.pth'
    torch.save({'state_dict': {'model1.x': torch.zeros(1)}}, empty)
    with pytest.raises(KeyError, match='holds no flaw-detector weights'):
        MODELS.build(dict(build, checkpoint=str(empty)))
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        MODELS.build(dict(build, checkpoint=str(tmp_path / 'missing.pth')))
    with pytest.raises(ValueError, match=r'xi must be in \[0, 1\]'):
        MODELS.build(dict(build, checkpoint=str(empty), xi=1.5))


def test_fixmatch_synthetic_config_trains_with_the_flaw_map_filter(
        synthetic_root, tmp_path):
    """FixMatch with a GCT run's flaw detector as its filter; the detector
    stays frozen (and in eval mode) while the student trains."""
    from mmengine.config import Config
    num_classes = Config.fromfile(
        cfg_path('fixmatch/dilatedconvnet_synthetic_1-16.py')
    ).model.segmentor.decode_head.num_classes
    ckpt = tmp_path / 'gct.pth'
    det_cfg, fd = gct_checkpoint(ckpt, num_classes)
    opts = semi_overrides(synthetic_root, str(tmp_path), 2, val=False)
    opts['model.pseudo_label_filter'] = dict(
        type='FlawMapFilter', checkpoint=str(ckpt), detector=det_cfg,
        _delete_=True)
    opts['model.semi_train_cfg.rampup'] = None
    runner = train(load_cfg(cfg_path('fixmatch/dilatedconvnet_synthetic_1-16'
                                     '.py'), opts))
    f = runner.model.pseudo_label_filter
    assert type(f).__name__ == 'FlawMapFilter' and not f.network.training
    for k, v in fd.state_dict().items():
        assert torch.equal(f.network.state_dict()[k], v), k
    ratio = runner.message_hub.get_scalar('train/unsup.accept_ratio')
    assert 0.0 <= ratio.current() <= 1.0
