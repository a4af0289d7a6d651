"""The strong-weak dual branch: each head learns only from its own masks,
the teacher variant's weak targets, the synthetic configs (teacher and
weak masks from disk) training end to end and resuming, and bad weak masks
stopping before training."""
import copy
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from helpers import cfg_path, load_cfg, semi_overrides, tiny_segmentor, train
from semiseg_mm.datasets import DatasetError
from semiseg_mm.registry import MODELS

C = 3


def samples(n, masks=None, size=16):
    out = []
    for i in range(n):
        s = SegDataSample()
        s.set_metainfo(dict(img_shape=(size, size), pad_shape=(size, size),
                            ori_shape=(size, size)))
        m = masks[i] if masks is not None else torch.randint(
            0, C, (size, size))
        s.gt_sem_seg = PixelData(data=m[None].long())
        out.append(s)
    return out


def grads_of(module):
    return [p.grad for p in module.parameters()]


def all_zero(grads):
    return all(g is None or not bool(g.abs().sum()) for g in grads)


@pytest.mark.parametrize('kind', ['disk', 'teacher'])
def test_each_head_learns_only_from_its_own_masks(kind):
    torch.manual_seed(0)
    if kind == 'disk':
        model = MODELS.build(dict(type='DualBranch',
                                  segmentor=tiny_segmentor(C)))
        inputs = dict(sup=torch.randn(2, 3, 16, 16),
                      weak=torch.randn(2, 3, 16, 16))
        data = dict(sup=samples(2), weak=samples(2))
    else:
        model = MODELS.build(dict(type='TeacherDualBranch',
                                  segmentor=tiny_segmentor(C),
                                  semi_train_cfg=dict(cutmix=False)))
        inputs = dict(sup=torch.randn(2, 3, 16, 16),
                      unsup_teacher=torch.randn(2, 3, 16, 16),
                      unsup_student=torch.randn(2, 3, 16, 16))
        data = dict(sup=samples(2), unsup_teacher=samples(2),
                    unsup_student=samples(2))
    model.train()
    strong = model.student.decode_head
    backbone = model.student.backbone
    losses = model.loss(inputs, data)
    assert set(k for k in losses if 'loss' in k) == {'sup.decode.loss_ce',
                                                    'weak.loss_ce'}
    # the weak masks' CE: weak head and backbone, nothing in the strong head
    model.zero_grad()
    losses['weak.loss_ce'].backward(retain_graph=True)
    assert all_zero(grads_of(strong))
    assert not all_zero(grads_of(model.weak_head))
    assert not all_zero(grads_of(backbone))
    # the ground truth's CE: strong head and backbone, nothing in the weak
    model.zero_grad()
    losses['sup.decode.loss_ce'].backward()
    assert all_zero(grads_of(model.weak_head))
    assert not all_zero(grads_of(strong))
    # inference is the strong head's
    model.eval()
    x = torch.randn(1, 3, 16, 16)
    pred = model.predict_model()
    assert pred.decode_head is strong or kind == 'teacher'
    assert not hasattr(pred, 'weak_head')


def test_disk_weak_masks_ignore_index_is_not_learnt(monkeypatch):
    model = MODELS.build(dict(type='DualBranch', segmentor=tiny_segmentor(C)))
    model.train()
    masks = [torch.full((16, 16), 255), torch.full((16, 16), 255)]
    masks[0][:4] = 1
    x = dict(sup=torch.randn(2, 3, 16, 16), weak=torch.randn(2, 3, 16, 16))
    s = dict(sup=samples(2), weak=samples(2, masks))
    _, labels, accept, valid = model.weak_targets(x, s)
    assert int(accept.sum()) == 4 * 16 and bool((labels[accept] == 1).all())
    losses = model.loss(x, s)
    assert losses['weak.accept_ratio'] == pytest.approx(64 / 512)
    # weak masks transformed apart from their images are refused
    s_bad = dict(sup=samples(2), weak=samples(2, size=8))
    with pytest.raises(ValueError, match='weak masks of'):
        model.weak_targets(x, s_bad)


def test_teacher_weak_targets_are_filtered_pseudo_labels():
    model = MODELS.build(dict(
        type='TeacherDualBranch', segmentor=tiny_segmentor(C),
        pseudo_label_filter=dict(type='ConfidenceFilter', threshold=0.99),
        semi_train_cfg=dict(cutmix=False)))
    model.train()
    x_w = torch.randn(2, 3, 16, 16)
    x = dict(sup=torch.randn(2, 3, 16, 16), unsup_teacher=x_w,
             unsup_student=torch.randn(2, 3, 16, 16))
    s = dict(sup=samples(2), unsup_teacher=samples(2),
             unsup_student=samples(2))
    img, labels, accept, valid = model.weak_targets(x, s)
    assert img is x['unsup_student']  # learnt on the strong view
    with torch.no_grad():
        model.teacher.eval()
        probs = model.teacher_logits(x_w).softmax(1)
    conf, expect = probs.max(1)
    assert torch.equal(labels, expect)
    assert torch.equal(accept, conf >= 0.99)
    with pytest.raises(ValueError, match='weak head predicts 4 classes'):
        head = copy.deepcopy(tiny_segmentor(C)['decode_head'])
        head['num_classes'] = 4
        MODELS.build(dict(type='DualBranch', segmentor=tiny_segmentor(C),
                          weak_head=head))


# ---------------------------------------------------------------------- #
# the synthetic configs
# ---------------------------------------------------------------------- #
def dual_cfg(root, work_dir, iters=4, ckpt=None, config=None):
    cfg = load_cfg(cfg_path(config or
                            'dual_branch/dilatedconvnet_synthetic_1-16.py'),
                   semi_overrides(root, work_dir, iters, val=False))
    cfg.default_hooks.checkpoint.interval = ckpt or iters
    cfg.model.semi_train_cfg.pop('rampup', None)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.custom_hooks = [h for h in cfg.custom_hooks
                        if h.type != 'PseudoLabelHealthHook']
    return cfg


def test_teacher_config_trains_and_resumes_exactly(synthetic_root,
                                                   tmp_path):
    ref = train(dual_cfg(synthetic_root, str(tmp_path / 'full')))
    state = ref.model.state_dict()
    assert any(k.startswith('weak_head.') for k in state)
    half = str(tmp_path / 'half')
    cfg = dual_cfg(synthetic_root, half, ckpt=2)
    cfg.train_cfg.max_iters = 2
    train(cfg)
    got = train(dual_cfg(synthetic_root, half, ckpt=2),
                resume=True).model.state_dict()
    for k, v in state.items():
        assert torch.equal(got[k], v), k


DISK = 'dual_branch/dilatedconvnet-disk_synthetic_1-16.py'


def weak_root(synthetic_root, tmp_path, corrupt=None):
    """A copy of the set with weak masks: the ground truth with a band
    of ignore pixels (coarse annotation)."""
    root = tmp_path / 'data'
    shutil.copytree(synthetic_root, root)
    src, dst = root / 'ann_dir' / 'train', root / 'weak_dir' / 'train'
    os.makedirs(dst)
    with open(root / 'splits/1-16_seed0/unlabeled.txt') as f:
        ids = [line.strip() for line in f if line.strip()]
    for i in ids:
        m = cv2.imread(str(src / f'{i}.png'), cv2.IMREAD_UNCHANGED)
        m[:, :4] = 255
        cv2.imwrite(str(dst / f'{i}.png'), m)
    if corrupt == 'missing':
        os.remove(dst / f'{ids[1]}.png')
    elif corrupt == 'class':
        m = np.full((64, 64), 9, np.uint8)
        cv2.imwrite(str(dst / f'{ids[2]}.png'), m)
    return str(root), ids


def test_disk_config_trains_from_weak_masks(synthetic_root, tmp_path):
    root, _ = weak_root(synthetic_root, tmp_path)
    runner = train(dual_cfg(root, str(tmp_path / 'w'), config=DISK))
    assert runner.iter == 4
    assert any(k.startswith('weak_head.')
               for k in runner.model.state_dict())


@pytest.mark.parametrize('corrupt,match', [
    ('missing', r'weak_dir/train.*\.png'),
    ('class', r'\.png.*9'),
])
def test_bad_weak_masks_stop_before_training_naming_the_file(
        synthetic_root, tmp_path, corrupt, match):
    root, ids = weak_root(synthetic_root, tmp_path, corrupt)
    cfg = dual_cfg(root, str(tmp_path / 'w'), config=DISK)
    with pytest.raises(DatasetError, match=match):
        train(cfg)


def test_make_weak_masks_writes_a_models_predictions(synthetic_root,
                                                     tmp_path):
    import sys
    from helpers import REPO
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    sys.path.insert(0, osp.join(REPO, 'tools'))
    import make_weak_masks
    init_default_scope('semiseg_mm')
    cfg_file = cfg_path('supervised/dilatedconvnet_synthetic_1-16.py')
    model = MODELS.build(Config.fromfile(cfg_file).model)
    ckpt = tmp_path / 'sup.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    ids_file = tmp_path / 'ids.txt'
    with open(osp.join(synthetic_root, 'splits/1-16_seed0/unlabeled.txt')) \
            as f:
        ids = [line.strip() for line in f][:3]
    ids_file.write_text('\n'.join(ids) + '\n')
    out = tmp_path / 'weak'
    assert make_weak_masks.main([
        cfg_file, str(ckpt), '--out', str(out), '--ids', str(ids_file),
        '--img-dir', osp.join(synthetic_root, 'img_dir', 'train')]) == 0
    for i in ids:
        m = cv2.imread(str(out / f'{i}.png'), cv2.IMREAD_UNCHANGED)
        assert m.shape == (64, 64) and int(m.max()) < 6
    with pytest.raises(SystemExit, match='have no image in'):
        ids_file.write_text('nope\n')
        make_weak_masks.main([cfg_file, str(ckpt), '--out', str(out),
                              '--ids', str(ids_file), '--img-dir',
                              osp.join(synthetic_root, 'img_dir', 'train')])
