"""Runs stop before their first iteration when the data, the model and the
checkpoint do not fit together (DatasetCheckHook, CheckpointCheckHook)."""
import os.path as osp
import shutil
import subprocess
import sys

import cv2
import pytest
import torch

from helpers import (REPO, SUP_CFG, cfg_path, load_cfg, semi_overrides,
                     synthetic_overrides, train)
from semiseg_mm.datasets import DatasetError
from semiseg_mm.engine.hooks import CheckpointMismatchError

FIXMATCH_CFG = cfg_path('fixmatch/dilatedconvnet_synthetic_1-16.py')
MT_CFG = cfg_path('mean_teacher/dilatedconvnet_synthetic_1-16.py')


def sup_cfg(root, work, iters=2, **extra):
    opts = synthetic_overrides(root, work, iters)
    opts.update(extra)
    return load_cfg(SUP_CFG, opts)


def semi_cfg(path, root, work, iters=2, **extra):
    opts = semi_overrides(root, work, iters)
    opts.update(extra)
    return load_cfg(path, opts)


@pytest.mark.parametrize('num_classes', [3, 10])
def test_num_classes_must_match_the_dataset(synthetic_root, tmp_path,
                                            num_classes):
    cfg = sup_cfg(synthetic_root, str(tmp_path),
                  **{'model.decode_head.num_classes': num_classes})
    with pytest.raises(DatasetError,
                       match=r'model and train_dataloader.dataset '
                       r'\(SyntheticShapesDataset\) disagree .*'
                       rf'model.decode_head.num_classes={num_classes}, but '
                       r"the dataset has 6 classes \('background'"):
        train(cfg)
    assert not osp.exists(osp.join(str(tmp_path), 'iter_1.pth'))


def test_num_classes_key_of_a_semi_supervised_model(synthetic_root,
                                                    tmp_path):
    cfg = semi_cfg(FIXMATCH_CFG, synthetic_root, str(tmp_path),
                   **{'model.segmentor.decode_head.num_classes': 4})
    with pytest.raises(DatasetError,
                       match=r'model.segmentor.decode_head.num_classes=4'):
        train(cfg)


def test_bad_validation_mask_stops_before_training(synthetic_root,
                                                   tmp_path):
    root = tmp_path / 'data'
    shutil.copytree(synthetic_root, root)
    mask = root / 'ann_dir/val/00005.png'
    seg = cv2.imread(str(mask), cv2.IMREAD_UNCHANGED)
    seg[3, 3] = 42
    cv2.imwrite(str(mask), seg)
    cfg = sup_cfg(str(root), str(tmp_path / 'work'), iters=4)
    with pytest.raises(DatasetError,
                       match=r'(?s)validation masks checked before training: '
                       r'.*val/00005.png: \[42\]'):
        train(cfg)
    assert not osp.exists(str(tmp_path / 'work' / 'iter_4.pth'))


@pytest.fixture(scope='module')
def sup_run(synthetic_root, tmp_path_factory):
    work = str(tmp_path_factory.mktemp('sup_run'))
    runner = train(sup_cfg(synthetic_root, work, iters=2))
    del runner
    return work, osp.join(work, 'iter_2.pth')


def test_resume_of_another_method_names_both_models(synthetic_root, sup_run):
    """The issue's case: --resume of a FixMatch config on a supervised run's
    work dir failed with a raw optimiser error."""
    work, _ = sup_run
    cfg = semi_cfg(FIXMATCH_CFG, synthetic_root, work, iters=4)
    with pytest.raises(CheckpointMismatchError) as e:
        train(cfg, resume=True)
    msg = str(e.value)
    assert "--resume '" in msg and 'iter_2.pth' in msg
    assert 'holds EncoderDecoder (backbone DilatedConvNet' in msg
    assert 'the config builds FixMatch (segmentor EncoderDecoder' in msg
    assert "keys student.* " in msg and '0% of the model' in msg


def test_resume_of_the_same_config_still_works(synthetic_root, sup_run,
                                               tmp_path):
    work = str(tmp_path)
    shutil.copy(sup_run[1], work)
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work, 'iter_2.pth'))
    runner = train(sup_cfg(synthetic_root, work, iters=3), resume=True)
    assert runner.iter == 3


@pytest.fixture(scope='module')
def mt_run(synthetic_root, tmp_path_factory):
    work = str(tmp_path_factory.mktemp('mt_run'))
    train(semi_cfg(MT_CFG, synthetic_root, work, iters=1))
    return osp.join(work, 'iter_1.pth')


def test_resume_with_same_keys_but_another_method(synthetic_root, mt_run,
                                                  tmp_path):
    """Mean Teacher and FixMatch have the same student/teacher tensors; the
    checkpoint's config says which method it was."""
    work = str(tmp_path)
    shutil.copy(mt_run, work)
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work, osp.basename(mt_run)))
    with pytest.raises(CheckpointMismatchError,
                       match=r'holds MeanTeacher .*builds FixMatch'):
        train(semi_cfg(FIXMATCH_CFG, synthetic_root, work, iters=2),
              resume=True)


def test_load_from_plain_checkpoint_into_semi_model_keeps_working(
        synthetic_root, sup_run, tmp_path):
    _, ckpt = sup_run
    cfg = semi_cfg(FIXMATCH_CFG, synthetic_root, str(tmp_path), iters=1,
                   load_from=ckpt, **{'optim_wrapper.optimizer.lr': 0.0})
    runner = train(cfg)
    sd = torch.load(ckpt, map_location='cpu')['state_dict']
    params = dict(runner.model.named_parameters())  # lr 0: unchanged
    names = [k for k in sd if f'student.{k}' in params]
    assert len(names) == len(params) // 2
    for k in names:
        for sub in ('student', 'teacher'):
            assert torch.equal(params[f'{sub}.{k}'], sd[k]), (sub, k)


def run_test_tool(cfg_file, ckpt, root, *opts):
    return subprocess.run([
        sys.executable, osp.join(REPO, 'tools/test.py'), cfg_file, ckpt,
        '--work-dir', osp.join(osp.dirname(ckpt), 'test_out'),
        '--cfg-options', f'test_dataloader.dataset.data_root={root}', *opts
    ], capture_output=True, text=True, cwd=REPO)


def test_test_tool_refuses_a_checkpoint_of_another_model(
        synthetic_root, sup_run, mt_run):
    """The issue's case: tools/test.py evaluated a random model (exit 0)."""
    _, ckpt = sup_run
    r = run_test_tool(SUP_CFG, mt_run, synthetic_root)
    assert r.returncode != 0
    assert 'CheckpointMismatchError' in r.stderr
    assert 'holds MeanTeacher (segmentor EncoderDecoder' in r.stderr
    assert 'the config builds EncoderDecoder (backbone DilatedConvNet' in \
        r.stderr
    assert 'Test a checkpoint with the config that trained it' in r.stderr
    # another architecture: the same keys with other shapes
    r = run_test_tool(SUP_CFG, ckpt, synthetic_root,
                      'model.backbone.channels=48',
                      'model.decode_head.in_channels=[16,48]')
    assert r.returncode != 0 and 'of another shape' in r.stderr
    # the right config evaluates
    r = run_test_tool(SUP_CFG, ckpt, synthetic_root)
    assert r.returncode == 0, r.stderr[-2000:]
