"""A non-finite loss stops training (or is skipped) before it is applied."""
import glob
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper

from helpers import (REPO, SUP_CFG, cfg_path, load_cfg, semi_overrides,
                     synthetic_overrides, train)
from semiseg_mm.engine.hooks import FiniteLossHook, NonFiniteLossError


class Toy(BaseModel):
    """``loss_a = w * x`` with ``x`` read from a script, one per step."""

    def __init__(self, script):
        super().__init__()
        self.w = nn.Parameter(torch.ones(1))
        self.register_buffer('stat', torch.zeros(1))
        self.script = list(script)

    def forward(self, inputs=None, data_samples=None, mode='loss'):
        x = self.script.pop(0)
        return {'loss_a': self.w * x, 'loss_b': self.w * 0 + 1.0,
                'acc': torch.tensor(float('nan'))}


def toy_runner(script, **hook_kw):
    model = Toy(script)
    ow = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    runner = SimpleNamespace(model=model, iter=0, optim_wrapper=ow)
    hook = FiniteLossHook(**hook_kw)
    hook.before_train(runner)
    runner.hook = hook
    return runner, hook


def step(runner):
    """One iteration as the runner makes it."""
    out = runner.model.train_step({}, optim_wrapper=runner.optim_wrapper)
    runner.hook.after_train_iter(runner, runner.iter)
    runner.iter += 1
    return out


def test_stop_names_key_and_iteration_and_applies_nothing():
    runner, hook = toy_runner([1.0, 1.0, float('inf')])
    step(runner)
    step(runner)
    w = runner.model.w.detach().clone()
    with pytest.raises(NonFiniteLossError,
                       match=r'iteration 3: non-finite loss loss_a=inf'):
        step(runner)
    assert torch.equal(runner.model.w, w)  # the bad step was not applied
    # a nan 'acc' is not a loss: only loss* keys are checked
    hook.after_train(runner)
    assert 'parse_losses' not in runner.model.__dict__


def test_skip_drops_the_step_counts_and_stops_after_n_in_a_row():
    nan = float('nan')
    runner, hook = toy_runner([1.0, nan, 1.0, nan, nan, nan],
                              action='skip', max_consecutive_skips=3)
    assert step(runner)['nonfinite_skipped'] == 0.0
    w = runner.model.w.detach().clone()
    assert step(runner) == {'nonfinite_skipped': 1.0}
    assert torch.equal(runner.model.w, w)  # no optimiser step
    assert runner.model.w.grad is None or not runner.model.w.grad.any()
    assert step(runner)['nonfinite_skipped'] == 0.0  # trains on
    assert not torch.equal(runner.model.w, w)
    step(runner)
    step(runner)
    with pytest.raises(NonFiniteLossError, match='3 steps in a row'):
        step(runner)
    assert hook.skips == 4


def test_poisoned_buffers_stop_before_ema_and_checkpoint_even_in_skip():
    runner, hook = toy_runner([float('nan')], action='skip')
    runner.model.stat.fill_(float('inf'))  # e.g. BatchNorm's running_var
    with pytest.raises(NonFiniteLossError,
                       match=r"iteration 1: non-finite weights or buffers "
                       r"after the iteration's steps.*\['stat'\]"):
        step(runner)  # skipped, then stopped before the EMA/checkpoint
    assert hook.skips == 1


class SqrtToy(Toy):
    """A finite loss whose gradient is infinite: sqrt(w - 1) at w = 1."""

    def forward(self, inputs=None, data_samples=None, mode='loss'):
        return {'loss_a': torch.sqrt(self.w - 1.0)}


def test_non_finite_weights_from_a_finite_loss_stop_before_ema():
    model = SqrtToy([])
    ow = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    runner = SimpleNamespace(model=model, iter=0, optim_wrapper=ow)
    hook = FiniteLossHook()
    hook.before_train(runner)
    out = model.train_step({}, optim_wrapper=ow)
    assert out['loss'] == 0  # finite, yet the step made w = -inf
    with pytest.raises(NonFiniteLossError,
                       match=r"iteration 1: non-finite weights or buffers .*"
                       r"\['w'\]"):
        hook.after_train_iter(runner, 0)


def test_bad_options():
    with pytest.raises(ValueError, match="one of \\('stop', 'skip'\\)"):
        FiniteLossHook(action='ignore')
    with pytest.raises(ValueError, match='max_consecutive_skips'):
        FiniteLossHook(max_consecutive_skips=0)


def test_gct_flaw_detector_step_is_guarded_too():
    """The second optimiser step of an iteration (GCT's flaw detector)."""
    from test_gct import build, optim, raw_batch
    torch.manual_seed(0)
    model = build()
    model.train()
    ow = optim(model)
    runner = SimpleNamespace(model=model, iter=6, optim_wrapper=ow)
    FiniteLossHook().before_train(runner)
    fd_before = [p.detach().clone() for p in model.flaw_detector.parameters()]
    task_before = [p.detach().clone() for p in model.model1.parameters()]

    def nan_fd_losses(batch):
        p = next(model.flaw_detector.parameters())
        return {'fd.loss_fd': p.sum() * float('nan')}

    model.flaw_detector_losses = nan_fd_losses
    with pytest.raises(NonFiniteLossError,
                       match=r'iteration 7: non-finite loss fd.loss_fd=nan'):
        model.train_step(raw_batch(), ow)
    assert all(
        torch.equal(a, b)
        for a, b in zip(fd_before, model.flaw_detector.parameters()))
    assert not all(
        torch.equal(a, b)
        for a, b in zip(task_before, model.model1.parameters()))


def finite_checkpoints(work):
    ckpts = sorted(glob.glob(osp.join(work, 'iter_*.pth')))
    for path in ckpts:
        sd = torch.load(path, map_location='cpu')['state_dict']
        assert all(torch.isfinite(v).all() for v in sd.values()
                   if v.is_floating_point()), path
    return ckpts


@pytest.mark.parametrize('config,semi', [
    (SUP_CFG, False),
    (cfg_path('fixmatch/dilatedconvnet_synthetic_1-16.py'), True),
])
def test_diverging_run_stops_and_saves_nothing_nan(synthetic_root, tmp_path,
                                                   config, semi):
    """The issue's case: learning rate 1e10 went on with nan losses, saved
    NaN checkpoints (EMA teacher too) and exited 0."""
    work = str(tmp_path)
    make = semi_overrides if semi else synthetic_overrides
    opts = make(synthetic_root, work, 12)
    opts.update({
        'optim_wrapper.optimizer.lr': 1e10,
        'default_hooks.checkpoint.interval': 1,
    })
    cfg = load_cfg(config, opts)
    with pytest.raises(NonFiniteLossError,
                       match=r'iteration \d+: (non-finite loss .*loss_ce=|'
                       'non-finite weights or buffers)'):
        train(cfg)
    assert finite_checkpoints(work)  # the steps before were saved, finite
    assert not osp.exists(osp.join(work, 'iter_12.pth'))


def test_every_shipped_config_guards_its_losses():
    from mmengine.config import Config
    configs = glob.glob(osp.join(REPO, 'configs', '*', '*.py'))
    configs = [c for c in configs if '/_base_/' not in c]
    assert configs
    for path in configs:
        cfg = Config.fromfile(path)
        hooks = cfg.default_hooks
        assert hooks.finite_loss.type == 'FiniteLossHook', path
        if cfg.default_scope == 'semiseg_mm_det':  # detection: COCO data
            assert hooks.data_check.type == 'SemiDetDataCheckHook', path
        else:
            assert hooks.dataset_check.type == 'DatasetCheckHook', path
        assert hooks.checkpoint_check.type == 'CheckpointCheckHook', path
