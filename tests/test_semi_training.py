"""Mean Teacher and FixMatch synthetic configs train end to end through the
runner, resume exactly, run distributed, and draw their pseudo-labels."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from helpers import REPO, cfg_path, load_cfg, semi_overrides, train

MT = cfg_path('mean_teacher/dilatedconvnet_synthetic_1-16.py')
FM = cfg_path('fixmatch/dilatedconvnet_synthetic_1-16.py')


def no_warmup(cfg):
    """Start the unlabelled losses at once (the configs warm up first)."""
    cfg.model.semi_train_cfg.rampup = dict(kind='linear', rampup_iters=1)
    return cfg


def scalars(work_dir):
    records = []
    for path in glob.glob(osp.join(work_dir, '*', 'vis_data',
                                   'scalars.json')):
        with open(path) as f:
            records += [json.loads(line) for line in f]
    return records


@pytest.mark.parametrize('config', [MT, FM], ids=['mean_teacher', 'fixmatch'])
def test_trains_and_validates_teacher_and_student(config, synthetic_root,
                                                  tmp_path):
    cfg = no_warmup(
        load_cfg(config, semi_overrides(synthetic_root, str(tmp_path), 3)))
    runner = train(cfg)
    assert runner.iter == 3
    logged = scalars(str(tmp_path))
    keys = set().union(*logged)
    # TeacherStudentValLoop evaluated both
    assert {'teacher/mIoU', 'student/mIoU'} <= keys
    assert any(k.startswith('unsup.') for k in keys)
    assert any(k.startswith('sup.decode.loss_ce') for k in keys)
    ckpt = torch.load(osp.join(str(tmp_path), 'iter_3.pth'))
    assert any(k.startswith('teacher.') for k in ckpt['state_dict'])


def test_mean_teacher_resume_equals_uninterrupted(synthetic_root, tmp_path):
    """Teacher (EMA) and student after N + resume-to-2N == 2N straight."""
    n = 2

    def cfg(work, iters):
        c = no_warmup(
            load_cfg(MT,
                     semi_overrides(synthetic_root, work, iters, val=False)))
        c.default_hooks.checkpoint.interval = n
        return c

    ref = train(cfg(str(tmp_path / 'full'), 2 * n)).model.state_dict()
    half = str(tmp_path / 'half')
    train(cfg(half, n))
    got = train(cfg(half, 2 * n), resume=True).model.state_dict()
    assert any(k.startswith('teacher.') for k in ref)
    for k in ref:
        assert torch.equal(got[k], ref[k]), k


def test_visualisation_hook_and_tool(synthetic_root, tmp_path):
    cfg = no_warmup(
        load_cfg(FM, semi_overrides(synthetic_root, str(tmp_path), 2,
                                    val=False)))
    cfg.custom_hooks.append(dict(type='SemiVisualizationHook', interval=2))
    train(cfg)
    images = glob.glob(osp.join(str(tmp_path), '*', 'vis_data', 'vis_image',
                                'semi_2.png'))
    assert len(images) == 1
    cfg_file = str(tmp_path / 'cfg.py')
    cfg.dump(cfg_file)
    out = tmp_path / 'vis'
    r = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools/visualize_semi.py'), cfg_file,
        osp.join(str(tmp_path), 'iter_2.pth'), '--out',
        str(out), '--iter', '100'
    ],
                       capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    import cv2
    grid = cv2.imread(str(out / 'semi_batch0.png'))
    # 2 samples x (image, pseudo-labels, confidence, accepted, prediction)
    assert grid is not None and grid.shape[1] > 5 * 128


def test_mean_teacher_distributed_two_processes(synthetic_root, tmp_path):
    work = tmp_path / 'dist'
    cfg = no_warmup(
        load_cfg(MT, semi_overrides(synthetic_root, str(work), 2)))
    cfg.log_level = 'INFO'
    cfg_file = str(tmp_path / 'cfg.py')
    cfg.dump(cfg_file)
    env = dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS='1',
               PORT=str(30500 + os.getpid() % 1000))
    r = subprocess.run(
        ['bash', osp.join(REPO, 'tools/dist_train.sh'), cfg_file, '2'],
        capture_output=True, text=True, env=env, cwd=str(tmp_path),
        timeout=600)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    ckpt = torch.load(work / 'iter_2.pth')
    sd = ckpt['state_dict']
    assert not any(k.startswith('module.') for k in sd)
    # the EMA hook updated the teacher through the DDP wrapper
    assert any(not torch.equal(sd[k], sd[k.replace('teacher.', 'student.')])
               for k in sd if k.startswith('teacher.')
               and sd[k].is_floating_point())


def test_speed_benchmark_tool(synthetic_root, tmp_path):
    """tools/benchmark.py measures a method against its bare passes."""
    data = tmp_path / 'data'
    data.mkdir()
    os.symlink(synthetic_root, data / 'synthetic')
    r = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools/benchmark.py'), MT, '--baseline',
        cfg_path('supervised/dilatedconvnet_synthetic_1-16.py'), '--iters',
        '2', '--warmup', '1'
    ],
                       capture_output=True,
                       text=True,
                       cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr[-3000:]
    assert '| MeanTeacher |' in r.stdout and 'x sup time' in r.stdout
    lines = r.stdout.splitlines()
    header = next(x for x in lines if x.startswith('| config')).split('|')
    for model in ('MeanTeacher', 'EncoderDecoder'):
        row = next(x for x in lines if f'| {model} |' in x).split('|')
        # the input checks (FiniteLossHook, per-sample mask checks) timed
        assert row[header.index(' checks share ')].strip().endswith(' %')
