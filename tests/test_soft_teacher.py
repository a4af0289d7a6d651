"""Soft Teacher on MMDetection: the detection scope, the detector with empty
branches and its pseudo-box thresholds, the EMA hook on a detector, and the
synthetic configs training, evaluating both models and resuming exactly."""
import copy
import json
import os.path as osp
import types
import uuid

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

import semiseg_mm  # noqa: F401
from semiseg_mm.det.data_preprocessor import drop_empty_branches
from semiseg_mm.det.registry import (DATA_SAMPLERS, DATASETS, HOOKS, METRICS,
                                     MODELS)
from helpers import train
from semiseg_mm.engine.hooks import EMATeacherHook

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
ST_CFG = osp.join(REPO,
                  'configs/soft_teacher/faster-rcnn-tiny_synthetic_semi-0.05.py')
SCHED_CFG = osp.join(
    REPO, 'configs/soft_teacher/'
    'faster-rcnn-tiny-scheduled_synthetic_semi-0.05.py')
SUP_CFG = osp.join(REPO,
                   'configs/supervised/faster-rcnn-tiny_synthetic-det_0.05.py')


@pytest.fixture(autouse=True)
def det_scope():
    """The detection scope, and iteration 0 for code that reads the
    iteration outside a runner (a runner of an earlier test in the same
    process leaves its last one)."""
    from mmengine.logging import MessageHub
    init_default_scope('semiseg_mm_det')
    MessageHub.get_current_instance().update_info('iter', 0)


@pytest.fixture(scope='session')
def det_root(tmp_path_factory) -> str:
    """A 40 + 4 + 4 image detection set with its 5 % splits (2 labelled)."""
    from semiseg_mm.datasets.synthetic import make_detection_set
    from semiseg_mm.det.coco_splits import write_splits
    root = str(tmp_path_factory.mktemp('data') / 'synthetic_det')
    make_detection_set(root, num_train=40, num_val=4, num_test=4,
                       progress=False)
    write_splits(
        osp.join(root, 'annotations', 'instances_train.json'),
        osp.join(root, 'semi_anns'), [5], [1])
    return root


def det_cfg(path: str, root: str, work_dir: str, max_iters: int = 4,
            val: bool = True) -> Config:
    cfg = Config.fromfile(path)
    root = root.rstrip('/') + '/'
    for loader in ('val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = root
        cfg[loader].batch_size = 2
    ds = cfg.train_dataloader.dataset
    for sub in ds.get('datasets', [ds]):
        sub.data_root = root
    for ev in ('val_evaluator', 'test_evaluator'):
        cfg[ev].ann_file = root + osp.relpath(cfg[ev].ann_file,
                                              'data/synthetic_det')
    cfg.val_dataloader.dataset.indices = 4
    # batches of 4 (2 + 2 for a fixed ratio)
    cfg.train_dataloader.batch_size = 4
    sampler = cfg.train_dataloader.sampler
    if 'batch_size' in sampler:
        sampler.batch_size = 4
    if 'source_ratio' in sampler:
        sampler.source_ratio = [2, 2]
    for hook in cfg.get('custom_hooks', []):
        if hook.type == 'DetPseudoBoxHealthHook':
            hook.interval = max_iters
    if 'semi_train_cfg' in cfg.model:  # iteration 0 only
        cfg.model.semi_train_cfg.burn_in_iters = 1
    cfg.merge_from_dict({
        'work_dir': work_dir,
        'train_cfg.max_iters': max_iters,
        'train_cfg.val_interval': max_iters if val else 10**9,
        'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.interval': max_iters,
        'default_hooks.checkpoint.max_keep_ckpts': -1,
        'log_level': 'WARNING',
    })
    return cfg


def run(cfg: Config, resume: bool = False):
    return train(cfg, resume, scope='semiseg_mm_det')


# --------------------------------------------------------------------- #
# the detection scope
# --------------------------------------------------------------------- #


def test_detection_scope_resolves_ours_and_mmdets():
    from mmdet.registry import MODELS as MMDET_MODELS
    assert MODELS.parent is MMDET_MODELS and MODELS.scope == 'semiseg_mm_det'
    assert MODELS.get('SemiSoftTeacher').__module__.startswith('semiseg_mm')
    assert MODELS.get('FasterRCNN').__module__.startswith('mmdet')
    assert MODELS.get('SemiDetDataPreprocessor') is not None
    assert DATA_SAMPLERS.get('ScheduledSourceSampler') is not None
    assert DATA_SAMPLERS.get('GroupMultiSourceSampler') is not None
    assert HOOKS.get('EMATeacherHook') is EMATeacherHook
    assert HOOKS.get('FiniteLossHook') is not None
    assert METRICS.get('CocoMetric') is not None
    assert DATASETS.get('CocoDataset') is not None
    # the segmentation scope keeps mmseg's names (no detector there)
    from semiseg_mm.registry import MODELS as SEG_MODELS
    assert SEG_MODELS.get('SemiSoftTeacher') is None


def test_det_prefix_gives_inherited_dicts_the_detection_scope(tmp_path):
    child = tmp_path / 'child.py'
    child.write_text("_base_ = ['semiseg_mm_det::soft_teacher/"
                     "faster-rcnn-tiny_synthetic_semi-0.05.py']\n")
    cfg = Config.fromfile(str(child))
    assert cfg.default_scope == 'semiseg_mm_det'
    assert cfg.model._scope_ == 'semiseg_mm_det'
    model = MODELS.build(cfg.model)
    assert type(model).__name__ == 'SemiSoftTeacher'
    # the top-level prefix works too, and the same file under semiseg_mm::
    assert Config.fromfile('semiseg_mm_det::soft_teacher/faster-rcnn-tiny_'
                           'synthetic_semi-0.05.py').model.type == \
        'SemiSoftTeacher'


# --------------------------------------------------------------------- #
# the detector
# --------------------------------------------------------------------- #


def tiny_model(**train_cfg):
    """The synthetic config's detector, without its burn-in unless given."""
    cfg = Config.fromfile(ST_CFG)
    cfg.model.semi_train_cfg.update(dict(dict(burn_in_iters=0), **train_cfg))
    return MODELS.build(cfg.model)


@pytest.mark.parametrize('kwargs,match', [
    (dict(cls_thr=0.9), r"unknown key\(s\) \['cls_thr'\]"),
    (dict(rpn_pseudo_thr=1.5), r'rpn_pseudo_thr=1.5: a score threshold'),
    (dict(unsup_weight=-1.0), r'unsup_weight=-1.0 must be >= 0'),
    (dict(jitter_times=1), r'jitter_times=1: an integer >= 2'),
    (dict(burn_in_iters=-5), r'burn_in_iters=-5: an integer >= 0'),
])
def test_semi_train_cfg_errors_name_the_key(kwargs, match):
    with pytest.raises(ValueError, match=r'model\.semi_train_cfg.*' + match):
        tiny_model(**kwargs)


def test_single_branch_preprocessor_is_wrapped_and_teacher_stays_eval():
    model = tiny_model()
    assert type(model.data_preprocessor).__name__ == \
        'SemiDetDataPreprocessor'
    model.train()
    assert model.student.training and not model.teacher.training
    assert not any(p.requires_grad for p in model.teacher.parameters())


def test_drop_empty_branches():
    data = {
        'inputs': {
            'sup': [None, None],
            'unsup_teacher': ['a', 'b'],
            'unsup_student': ['c', 'd']
        },
        'data_samples': {
            'sup': [None, None],
            'unsup_teacher': [1, 2],
            'unsup_student': [3, 4]
        }
    }
    out = drop_empty_branches(data)
    assert set(out['inputs']) == set(out['data_samples']) == {
        'unsup_teacher', 'unsup_student'
    }
    data['inputs']['sup'] = ['x', None]
    data['data_samples']['sup'] = [0, None]
    out = drop_empty_branches(data)
    assert out['inputs']['sup'] == ['x'] and out['data_samples']['sup'] == [0]


def semi_batch(det_root, labelled: int, unlabelled: int):
    """A collated multi-branch batch from the config's own pipelines."""
    from mmengine.dataset import pseudo_collate
    cfg = det_cfg(ST_CFG, det_root, '/tmp/unused')
    lab, unlab = cfg.train_dataloader.dataset.datasets
    items = [DATASETS.build(lab)[i % 2] for i in range(labelled)]
    unlab_ds = DATASETS.build(unlab)
    items += [unlab_ds[i] for i in range(unlabelled)]
    return pseudo_collate(items)


@pytest.mark.parametrize('labelled,unlabelled', [(2, 2), (0, 3), (3, 0)])
def test_loss_with_and_without_labelled_or_unlabelled_images(
        det_root, labelled, unlabelled):
    torch.manual_seed(0)
    model = tiny_model()
    data = model.data_preprocessor(
        semi_batch(det_root, labelled, unlabelled), True)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert losses['sup.images'].item() == labelled
    sup = [k for k in losses if k.startswith('sup.loss')]
    unsup = [k for k in losses if k.startswith('unsup.loss')]
    assert bool(sup) == (labelled > 0) and bool(unsup) == (unlabelled > 0)
    values = [t for v in losses.values()
              for t in (v if isinstance(v, list) else [v])]  # rpn: per level
    assert all(torch.isfinite(t).all() for t in values)
    total, _ = model.parse_losses(losses)
    total.backward()  # the student learns from whichever part is there
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.student.parameters())


def test_burn_in_trains_on_labelled_images_only(det_root):
    model = tiny_model(burn_in_iters=5)  # outside a runner: iteration 0
    data = model.data_preprocessor(semi_batch(det_root, 2, 2), True)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert any(k.startswith('sup.loss') for k in losses)
    assert not any(k.startswith('unsup.') for k in losses)
    data = model.data_preprocessor(semi_batch(det_root, 0, 2), True)
    with pytest.raises(ValueError, match=r'iteration 0 is in the burn-in '
                       r'\(model.semi_train_cfg.burn_in_iters=5\) but its '
                       'batch holds no labelled image'):
        model.loss(data['inputs'], data['data_samples'])


def crafted_teacher(model, boxes, scores):
    """Make the teacher's RPN + RoI head return ``boxes`` / ``scores``
    (label 0) for every image, and the refined jittered boxes equal to the
    jittered input boxes (so the uncertainty is the jitter's)."""
    boxes = torch.tensor(boxes, dtype=torch.float32)
    scores = torch.tensor(scores)

    def rpn_predict(x, samples, rescale=False):
        return [InstanceData(bboxes=boxes.clone()) for _ in samples]

    def roi_predict(x, rpn_results, samples, rescale=False):
        if model.teacher.roi_head.test_cfg is None:  # the jitter pass
            return [InstanceData(bboxes=r.bboxes.clone()) for r in
                    rpn_results]
        return [
            InstanceData(bboxes=boxes.clone(), scores=scores.clone(),
                         labels=torch.zeros(len(scores), dtype=torch.long))
            for _ in samples
        ]

    model.teacher.rpn_head.predict = rpn_predict
    model.teacher.roi_head.predict = roi_predict


def test_pseudo_box_thresholds_on_crafted_teacher_outputs(det_root):
    """Initial score threshold for pseudo-boxes, then per loss: RPN above
    rpn_pseudo_thr, classification above cls_pseudo_thr, regression where
    the jitter uncertainty is below reg_pseudo_thr."""
    torch.manual_seed(0)
    model = tiny_model(
        pseudo_label_initial_score_thr=0.5, rpn_pseudo_thr=0.9,
        cls_pseudo_thr=0.7, reg_pseudo_thr=0.02, jitter_scale=0.06)
    boxes = [[4, 4, 24, 24], [30, 30, 50, 50], [10, 30, 30, 50],
             [40, 2, 60, 22]]
    crafted_teacher(model, boxes, [0.95, 0.8, 0.6, 0.3])
    data = model.data_preprocessor(semi_batch(det_root, 0, 2), True)
    pseudo, _ = model.get_pseudo_instances(
        data['inputs']['unsup_teacher'],
        data['data_samples']['unsup_teacher'])
    for s in pseudo:  # the 0.3 box is below the initial 0.5
        assert s.gt_instances.scores.tolist() == pytest.approx(
            [0.95, 0.8, 0.6])
        # jitter of 0.06 x size: uncertainty ~ 0.06 x 0.8 = 0.05 > 0.02
        assert (s.gt_instances.reg_uncs > 0.02).all()

    seen = {}
    student = model.student
    rpn_loss = student.rpn_head.loss_and_predict
    assign = student.roi_head.bbox_assigner.assign
    roi_loss = student.roi_head.loss

    def spy_rpn(x, samples, **kw):
        seen['rpn'] = [len(s.gt_instances) for s in samples]
        return rpn_loss(x, samples, **kw)

    def spy_assign(pred, gt, *a, **kw):
        seen.setdefault('cls', []).append(len(gt))
        return assign(pred, gt, *a, **kw)

    def spy_roi(x, rpn_results, samples):
        seen['reg'] = [len(s.gt_instances) for s in samples]
        return roi_loss(x, rpn_results, samples)

    student.rpn_head.loss_and_predict = spy_rpn
    student.roi_head.bbox_assigner.assign = spy_assign
    student.roi_head.loss = spy_roi
    losses = model.loss(data['inputs'], data['data_samples'])
    assert seen['rpn'] == [1, 1]  # 0.95 only
    assert seen['cls'][:2] == [2, 2]  # 0.95 and 0.8
    assert seen['reg'] == [0, 0]  # every box too uncertain
    assert losses['unsup.pseudo_boxes'].item() == 2.0
    # with a looser regression threshold all three are kept for it
    model.semi_train_cfg.reg_pseudo_thr = 1.0
    seen.clear()
    model.loss(data['inputs'], data['data_samples'])
    assert seen['reg'] == [3, 3]


def test_ema_hook_drives_the_detector_teacher():
    model = tiny_model()
    hub = types.SimpleNamespace(update_scalar=lambda *a, **k: None)
    runner = types.SimpleNamespace(model=model, iter=0, message_hub=hub)
    hook = EMATeacherHook(momentum=0.9, warmup=False, buffer_mode='ema')
    hook.before_train(runner)  # iteration 0: teacher := student
    for (k, s), t in zip(model.student.state_dict().items(),
                         model.teacher.state_dict().values()):
        assert torch.equal(s, t), k
    before = copy.deepcopy(model.teacher.state_dict())
    with torch.no_grad():
        for p in model.student.parameters():
            p.add_(1.0)
    hook.after_train_iter(runner, 0)
    name = 'roi_head.bbox_head.fc_cls.weight'
    s = model.student.state_dict()[name]
    assert torch.allclose(model.teacher.state_dict()[name],
                          0.9 * before[name] + 0.1 * s)


# --------------------------------------------------------------------- #
# the synthetic configs, end to end
# --------------------------------------------------------------------- #


def test_scheduled_config_trains_evaluates_both_models(det_root, tmp_path):
    """Iterations 1-2 hold labelled images, 3-4 none (the share reaches 0
    at num_batches=2): finite sup.* and unsup.* losses, COCO bbox mAP for
    teacher and student."""
    cfg = det_cfg(SCHED_CFG, det_root, str(tmp_path / 'run'), max_iters=4)
    cfg.train_dataloader.sampler.num_batches = 2
    runner = run(cfg)
    hub = runner.message_hub
    images = hub.get_scalar('train/sup.images').data[0]
    assert list(images) == [2.0, 1.0, 0.0, 0.0]  # 4 x 0.5, 4 x 0.25, 0, 0
    for key in ('train/sup.loss_cls', 'train/unsup.loss_cls',
                'train/unsup.loss_rpn_cls', 'train/loss'):
        values = hub.get_scalar(key).data[0]
        assert len(values) and all(map(lambda v: v == v and abs(v) < 1e6,
                                       values)), key
    assert len(hub.get_scalar('train/sup.loss_cls').data[0]) == 2
    metrics = json.loads(
        open(osp.join(runner.log_dir, 'vis_data', 'scalars.json')).read()
        .strip().splitlines()[-1])
    for model in ('teacher', 'student'):
        assert f'{model}/coco/bbox_mAP' in metrics
    # the health hook ran on its probe of held-back boxes
    health = [h for h in runner.hooks
              if type(h).__name__ == 'DetPseudoBoxHealthHook']
    assert health and health[0].history
    fig = health[0].history[-1]
    assert fig['gt_boxes'] > 0 and 'probe_boxes' in fig


def test_resume_equals_uninterrupted(det_root, tmp_path):
    n = 2
    ref = run(det_cfg(SCHED_CFG, det_root, str(tmp_path / 'full'), 2 * n,
                      val=False)).model.state_dict()
    half = str(tmp_path / 'half')
    run(det_cfg(SCHED_CFG, det_root, half, n, val=False))
    assert osp.isfile(osp.join(half, f'iter_{n}.pth'))
    runner = run(
        det_cfg(SCHED_CFG, det_root, half, 2 * n, val=False), resume=True)
    assert runner.iter == 2 * n
    got = runner.model.state_dict()
    assert got.keys() == ref.keys()
    for k in ref:
        assert torch.equal(got[k], ref[k]), k
    assert any(k.startswith('teacher.') for k in ref)


def test_supervised_baseline_config_trains(det_root, tmp_path):
    cfg = det_cfg(SUP_CFG, det_root, str(tmp_path / 'sup'), max_iters=2)
    runner = run(cfg)
    assert runner.iter == 2


# --------------------------------------------------------------------- #
# the data checks and the pseudo-box health view
# --------------------------------------------------------------------- #


def test_box_match_hand_computed():
    from semiseg_mm.det.hooks import box_match
    gt = torch.tensor([[0, 0, 10, 10], [20, 20, 30, 30]], dtype=torch.float)
    gt_labels = torch.tensor([0, 1])
    pred = torch.tensor([
        [0, 0, 10, 10],  # gt 0, same class: TP
        [1, 1, 10, 10],  # gt 0 again (IoU 0.81): already taken -> FP
        [20, 20, 30, 30],  # gt 1 but class 0 -> FP
        [20, 20, 30, 35],  # gt 1, class 1, IoU 100/150 = 0.67 -> TP
    ], dtype=torch.float)
    labels = torch.tensor([0, 0, 0, 1])
    assert box_match(pred, labels, gt, gt_labels, 0.5) == 2
    assert box_match(pred, labels, gt, gt_labels, 0.7) == 1
    assert box_match(pred[:0], labels[:0], gt, gt_labels) == 0


def health_runner(values, model=None):
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance(f'health_{uuid.uuid4().hex}')
    for v in values:
        hub.update_scalar('train/unsup.pseudo_boxes', v)
    calls = []
    vis = types.SimpleNamespace(
        add_scalars=lambda d, step: calls.append((step, d)))
    return types.SimpleNamespace(model=model, iter=0, message_hub=hub,
                                 visualizer=vis), calls


def test_health_hook_warns_then_stops_on_a_collapsing_teacher():
    from mmengine.logging import MMLogger

    from semiseg_mm.det.hooks import (DetPseudoBoxHealthHook,
                                      PseudoBoxCollapseError)
    import logging
    records = []

    class Keep(logging.Handler):

        def emit(self, record):
            records.append(record)

    logger = MMLogger.get_current_instance()
    keep = Keep()
    logger.addHandler(keep)
    from mmengine.config import ConfigDict
    model = types.SimpleNamespace(
        semi_train_cfg=ConfigDict(cls_pseudo_thr=0.9, burn_in_iters=0))
    # 2 boxes per image for 4 iterations, then none
    runner, calls = health_runner([2.0] * 4, model)
    hook = DetPseudoBoxHealthHook(interval=4, probe=None, min_boxes=0.1,
                                  patience=2)
    runner.iter = 3
    hook.after_train_iter(runner, 3)
    assert calls[-1] == (4, {'health/pseudo_boxes': 2.0})
    for it in (7, 11):
        for _ in range(4):
            runner.message_hub.update_scalar('train/unsup.pseudo_boxes',
                                             0.0)
        runner.iter = it
        hook.after_train_iter(runner, it)
        if it == 7:  # one collapsed interval: no warning yet
            assert not any(r.levelname == 'WARNING' for r in records)
    logger.removeHandler(keep)
    assert hook._collapsed == 2
    assert any(r.levelname == 'WARNING' and 'has produced under 0.1 '
               'pseudo-boxes per unlabelled image for 2 intervals' in
               r.getMessage() for r in records)
    stopper = DetPseudoBoxHealthHook(interval=4, probe=None, patience=1,
                                     stop=True)
    runner.iter = 15
    for _ in range(4):
        runner.message_hub.update_scalar('train/unsup.pseudo_boxes', 0.0)
    with pytest.raises(PseudoBoxCollapseError, match='iteration 16'):
        stopper.after_train_iter(runner, 15)
    with pytest.raises(ValueError, match=r"unknown probe key\(s\) \['nums'\]"):
        DetPseudoBoxHealthHook(probe=dict(nums=3))


def test_data_check_stops_on_missing_images_and_overlapping_splits(
        det_root, tmp_path):
    semi = osp.join(det_root, 'semi_anns')
    # an unlabelled file that repeats a labelled image
    lab = json.load(open(osp.join(semi, 'instances_train.1@5.json')))
    unlab = json.load(
        open(osp.join(semi, 'instances_train.1@5-unlabeled.json')))
    overlap = dict(unlab, images=unlab['images'] + lab['images'][:1])
    with open(osp.join(semi, 'overlap.json'), 'w') as f:
        json.dump(overlap, f)
    cfg = det_cfg(ST_CFG, det_root, str(tmp_path / 'a'), max_iters=1)
    cfg.train_dataloader.dataset.datasets[1].ann_file = 'semi_anns/' \
        'overlap.json'
    with pytest.raises(ValueError, match=r'1 images are both labelled \(.*'
                       r'instances_train.1@5.json\) and unlabelled \(.*'
                       r'overlap.json\)'):
        run(cfg)
    # a labelled file naming an image that is not in the folder
    missing = dict(lab, images=[dict(lab['images'][0], id=999,
                                     file_name='nope.png')])
    with open(osp.join(semi, 'missing.json'), 'w') as f:
        json.dump(missing, f)
    cfg = det_cfg(ST_CFG, det_root, str(tmp_path / 'b'), max_iters=1)
    cfg.train_dataloader.dataset.datasets[0].ann_file = 'semi_anns/' \
        'missing.json'
    cfg.train_dataloader.dataset.datasets[0].filter_cfg = None
    with pytest.raises(FileNotFoundError, match=r'missing.json: 1 of its 1 '
                       r'images are not in the image folder.*nope.png'):
        run(cfg)


# --------------------------------------------------------------------- #
# the detection benchmark's rows and table
# --------------------------------------------------------------------- #


def test_benchmark_rows_use_the_fold_of_each_seed(tmp_path):
    from semiseg_mm.benchmark import detection as det
    from semiseg_mm.benchmark import label_efficiency as le
    from semiseg_mm.utils.config import config_root
    for key in det.DET_KEYS:
        cfg = le.make_run_config(le.ENTRIES[key], 2, config_root(), 10,
                                 str(tmp_path / 'w'))
        ds = cfg.train_dataloader.dataset
        parts = ds.get('datasets', [ds])
        assert parts[0].ann_file == 'semi_anns/instances_train.3@5.json'
        if len(parts) == 2:
            assert parts[1].ann_file == \
                'semi_anns/instances_train.3@5-unlabeled.json'
        assert cfg.train_cfg.max_iters == 10 and cfg.randomness.seed == 2
    sched = le.make_run_config(le.ENTRIES['det_soft_teacher_scheduled'], 0,
                               config_root(), 10, str(tmp_path / 'w'))
    # the schedule's length follows the run's
    assert sched.train_dataloader.sampler.num_batches == 10


def test_benchmark_table_pairs_each_seed_with_supervised():
    from semiseg_mm.benchmark import detection as det
    from semiseg_mm.benchmark.label_efficiency import Row
    sup, st, _ = det.det_entries()
    rows = [Row(sup, [0.20, 0.30], 5.0, [0.21, 0.31]),
            Row(st, [0.25, 0.28], 10.0, [0.26, 0.29])]
    table = det.markdown_table(rows).splitlines()
    assert table[2].startswith('| Supervised only') and '25.00 ± 7.07' in \
        table[2] and '| - |' in table[2]
    # paired: +5.0 on seed 0, -2.0 on seed 1, mean +1.5
    assert '26.50 ± 2.12' in table[3] and '+1.50 (+5.0 / -2.0)' in table[3]
    assert '| 27.50 |' in table[3]  # val box AP


def test_iteration_rng_seeds_the_global_generator_and_restores_it():
    from mmengine.logging import MessageHub

    from semiseg_mm.models.utils import iteration_rng
    hub = MessageHub.get_current_instance()
    torch.manual_seed(3)
    hub.update_info('iter', 5)
    before = torch.get_rng_state()
    with iteration_rng():
        a = torch.rand(4)  # code we do not own draws from the global one
    # what runs outside sees the global state as if nothing had drawn
    assert torch.equal(torch.get_rng_state(), before)
    torch.rand(10)
    with iteration_rng():
        b = torch.rand(4)  # the same iteration draws the same
    hub.update_info('iter', 6)
    with iteration_rng():
        c = torch.rand(4)
    hub.update_info('iter', 0)
    assert torch.equal(a, b) and not torch.equal(a, c)


# --------------------------------------------------------------------- #
# the speed tool
def test_speed_reference_runs_soft_teachers_passes(det_root):
    """tools/benchmark.py's bare passes for Soft Teacher: the teacher's box
    head on jitter_times copies of each pseudo-box above the initial
    threshold and on the student's proposals, the student's RoI head twice
    on the strong views (classification, regression), gradients into the
    student only."""
    from semiseg_mm.benchmark.speed import REFERENCES
    assert {'FasterRCNN', 'SemiSoftTeacher'} <= set(REFERENCES)
    torch.manual_seed(0)
    model = tiny_model(jitter_times=4)
    boxes = [[4, 4, 24, 24], [30, 30, 50, 50], [10, 30, 30, 50],
             [40, 2, 60, 22]]
    crafted_teacher(model, boxes, [0.95, 0.8, 0.6, 0.3])
    seen = {'bbox': [], 'roi': []}
    predict_bbox = model.teacher.roi_head.predict_bbox
    roi_loss = model.student.roi_head.loss

    def spy_bbox(x, metas, proposals, **kw):
        seen['bbox'].append([len(p.bboxes) for p in proposals])
        return predict_bbox(x, metas, proposals, **kw)

    def spy_roi(x, rpn_results, samples):
        seen['roi'].append([len(s.gt_instances) for s in samples])
        return roi_loss(x, rpn_results, samples)

    model.teacher.roi_head.predict_bbox = spy_bbox
    model.student.roi_head.loss = spy_roi
    data = model.data_preprocessor(semi_batch(det_root, 2, 2), True)
    REFERENCES['SemiSoftTeacher'](model, data)
    # 3 boxes above 0.5, 4 jittered copies each; then <= 128 proposals
    assert seen['bbox'][0] == [12, 12]
    assert all(0 < n <= 128 for n in seen['bbox'][1])
    # labelled images once (their own loss), strong views twice
    assert len(seen['roi']) == 3 and seen['roi'][1:] == [[3, 3], [3, 3]]
    assert any(p.grad is not None for p in model.student.parameters())
    assert all(p.grad is None for p in model.teacher.parameters())


@pytest.mark.parametrize('path', [ST_CFG, SUP_CFG])
def test_speed_tool_measures_detection_configs(path, det_root, tmp_path):
    from helpers import measure_speed
    res = measure_speed(path, det_root, 'synthetic_det', tmp_path, iters=1,
                        warmup=1)
    assert res['overhead'] > 0 and res['iter_s'] > 0
    # Soft Teacher's health probe is timed; the detector has none
    assert (res['health_share'] is not None) == (path == ST_CFG)


# --------------------------------------------------------------------- #
# distributed training
def test_dist_train_two_processes_scheduled_share(det_root, tmp_path):
    """tools/dist_train.sh with 2 CPU processes (gloo): the scheduled
    sampler splits each batch's counts between the ranks, the detector
    trains in DDP through the burn-in into the semi-supervised iterations,
    the EMA hook moves the (unwrapped) teacher, and rank 0 saves once."""
    import os
    import subprocess
    import sys
    work = tmp_path / 'dist'
    cfg = det_cfg(SCHED_CFG, det_root, str(work), max_iters=3, val=False)
    cfg.train_dataloader.sampler.num_batches = 3
    cfg.log_level = 'INFO'
    cfg_path = str(tmp_path / 'cfg.py')
    cfg.dump(cfg_path)
    env = dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS='1',
               PORT=str(29500 + (os.getpid() + 500) % 1000))
    r = subprocess.run(
        ['bash', osp.join(REPO, 'tools/dist_train.sh'), cfg_path, '2'],
        capture_output=True, text=True, env=env, cwd=str(tmp_path),
        timeout=600)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-4000:]
    assert 'world_size: 2' in out.replace('\n', ' ') or \
        'Distributed training: True' in out, out[-3000:]
    ckpt = torch.load(work / 'iter_3.pth', map_location='cpu',
                      weights_only=False)
    assert ckpt['meta']['iter'] == 3
    state = ckpt['state_dict']
    assert not any(k.startswith('module.') for k in state)
    # the teacher follows the student (the EMA hook copies it at the start
    # and averages): close to it, not equal (two random initialisations
    # would differ by about the weights' own norm)
    key = next(k for k in state if k.startswith('student.')
               and k.endswith('conv1.weight'))
    student, teacher = state[key], state['teacher.' + key[len('student.'):]]
    assert not torch.equal(teacher, student)
    assert (teacher - student).norm() < 0.2 * student.norm()
    logs = ''.join(p.read_text() for p in work.rglob('*.log'))
    assert 'Iter(train) [3/3]' in logs and 'unsup.loss_cls' in logs
