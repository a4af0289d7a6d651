"""torch>=2.6 compatibility: every way of loading a runner checkpoint works,
and weights-only safety stays on for anything else."""
import os.path as osp
import pickle
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from helpers import REPO, SUP_CFG, load_cfg, synthetic_overrides, train


@pytest.fixture(scope='module')
def trained(synthetic_root, tmp_path_factory):
    work = str(tmp_path_factory.mktemp('ckpt'))
    cfg = load_cfg(SUP_CFG, synthetic_overrides(synthetic_root, work, 2))
    train(cfg)
    ckpt = osp.join(work, 'iter_2.pth')
    assert osp.isfile(ckpt)
    return cfg, ckpt


def test_runner_checkpoint_needs_the_fix(trained):
    """Without semiseg_mm, torch's weights-only load refuses the file (this
    is the failure users hit); with it, the load succeeds."""
    _, ckpt = trained
    code = ('import torch, sys\n'
            'try:\n'
            f'    torch.load({ckpt!r})\n'
            'except Exception as e:\n'
            '    print(type(e).__name__, e); sys.exit(3)\n')
    r = subprocess.run([sys.executable, '-c', code], capture_output=True,
                       text=True)
    assert r.returncode == 3 and 'HistoryBuffer' in r.stdout
    r = subprocess.run(
        [sys.executable, '-c', 'import semiseg_mm\n' + code],
        capture_output=True,
        text=True)
    assert r.returncode == 0, r.stdout + r.stderr


class Evil:

    def __reduce__(self):
        return (print, ('pwned', ))


class EvilGetattr:
    """Reaches past the allowed HistoryBuffer statistics methods."""

    def __reduce__(self):
        from mmengine.logging.history_buffer import HistoryBuffer
        return (getattr, (HistoryBuffer, '__init__'))


def test_weights_only_safety_kept(tmp_path):
    import semiseg_mm  # noqa: F401
    for i, evil in enumerate((Evil(), EvilGetattr())):
        path = str(tmp_path / f'evil{i}.pth')
        torch.save({'state_dict': {}, 'x': evil}, path)
        with pytest.raises(pickle.UnpicklingError,
                           match='Weights only load'):
            torch.load(path)
    plain = str(tmp_path / 'plain.pth')
    torch.save({'w': torch.ones(2)}, plain)
    assert torch.load(plain)['w'].sum() == 2


def test_init_model_and_load_from(trained, synthetic_root, tmp_path):
    from mmseg.apis import inference_model, init_model
    cfg, ckpt = trained
    model = init_model(cfg, ckpt, device='cpu')
    sd = torch.load(ckpt, map_location='cpu')['state_dict']
    for k, v in model.state_dict().items():
        assert torch.equal(v, sd[k]), k
    img = osp.join(synthetic_root, 'img_dir/val/00000.png')
    result = inference_model(model, img)
    assert result.pred_sem_seg.data.shape[-2:] == (64, 64)

    cfg2 = load_cfg(SUP_CFG,
                    synthetic_overrides(synthetic_root, str(tmp_path), 1))
    cfg2.load_from = ckpt
    cfg2.param_scheduler = []
    runner = train(cfg2)  # loads weights, then one step
    assert runner.iter == 1


def test_tools_test_cli_on_runner_checkpoint(trained, synthetic_root,
                                             tmp_path):
    cfg, ckpt = trained
    cfg_path = str(tmp_path / 'cfg.py')
    cfg.dump(cfg_path)
    r = subprocess.run(
        [
            sys.executable,
            osp.join(REPO, 'tools/test.py'), cfg_path, ckpt, '--work-dir',
            str(tmp_path / 'test'), '--show-dir', 'shows', '--cfg-options',
            'log_level=INFO', 'default_hooks.visualization.interval=1'
        ],
        capture_output=True,
        text=True,
        cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'mIoU' in r.stdout + r.stderr
    shows = list(tmp_path.rglob('shows/**/*.png'))
    assert len(shows) == 8  # every val image painted


def test_resume_equals_uninterrupted_run(synthetic_root, tmp_path):
    """N iterations + resume to 2N == 2N uninterrupted, bit for bit."""
    n = 3
    full = load_cfg(
        SUP_CFG,
        synthetic_overrides(synthetic_root, str(tmp_path / 'full'), 2 * n,
                            val=False))
    ref = train(full).model.state_dict()

    half_dir = str(tmp_path / 'half')
    first = load_cfg(
        SUP_CFG,
        synthetic_overrides(synthetic_root, half_dir, n, val=False))
    train(first)
    assert osp.isfile(osp.join(half_dir, f'iter_{n}.pth'))
    second = load_cfg(
        SUP_CFG,
        synthetic_overrides(synthetic_root, half_dir, 2 * n, val=False))
    runner = train(second, resume=True)
    assert runner.iter == 2 * n
    got = runner.model.state_dict()
    assert got.keys() == ref.keys()
    for k in ref:
        assert torch.equal(got[k], ref[k]), k
    # and the run without the resume differs (the test can fail)
    fresh = load_cfg(
        SUP_CFG,
        synthetic_overrides(synthetic_root, str(tmp_path / 'fresh'), n,
                            val=False))
    other = train(fresh).model.state_dict()
    assert any(not torch.equal(other[k], ref[k]) for k in ref)
