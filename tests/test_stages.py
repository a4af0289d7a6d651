"""Training stages in the shared base: the schedule's checks, freezing and
unfreezing per stage, which optimiser steps, the EMA teacher's start, the
per-stage learning-rate restart, and resume in the middle of a stage."""
import copy
import os.path as osp

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.optim import OptimWrapper
from torch.optim import SGD

from helpers import cfg_path, load_cfg, semi_overrides, tiny_segmentor, train
from semiseg_mm.engine.optimizers import StagePolyLR
from semiseg_mm.models.segmentors import MultiOptimMixin, OptimStep
from semiseg_mm.models.segmentors.semi_base import SemiBaseSegmentor
from semiseg_mm.models.utils import full_res_logits
from semiseg_mm.models.utils.stages import StageSchedule, StageSpec
from semiseg_mm.registry import MODELS

SPECS = {
    'warm': StageSpec(frozen=('critic', ), optimizers=('segmentor', ),
                      unlabelled=False),
    'joint': StageSpec(teacher=True),
}


def stages(*ranges, names=('warm', 'joint')):
    return [dict(name=n, begin=b, end=e) for n, (b, e) in zip(names, ranges)]


# ---------------------------------------------------------------------- #
# the schedule
# ---------------------------------------------------------------------- #
def test_schedule_finds_the_stage_of_each_iteration():
    s = StageSchedule.build(stages((0, 3), (3, 8)), SPECS, 'Toy')
    assert [s.at(i).name for i in range(9)] == ['warm'] * 3 + ['joint'] * 6
    assert s.at(2).frozen == ('critic', ) and s.at(3).frozen == ()
    assert s.at(0).optimizers == ('segmentor', ) and s.at(5).optimizers is None
    assert s.teacher_begin() == 3 and s.end == 8
    s.check_max_iters(8)
    with pytest.raises(ValueError, match=r'train_cfg.max_iters is 9'):
        s.check_max_iters(9)
    s.check_max_iters(5)  # stopping early (to resume) is only warned about
    # a stage may be left out (e.g. pre-training done elsewhere)
    only = StageSchedule.build(stages((0, 5), names=('joint', )), SPECS, 'T')
    assert only.teacher_begin() == 0
    # a config may freeze other sub-modules in a stage
    own = StageSchedule.build(
        [dict(name='warm', begin=0, end=2, frozen=[]),
         dict(name='joint', begin=2, end=4, frozen=['critic'])], SPECS, 'T')
    assert own.at(0).frozen == () and own.at(3).frozen == ('critic', )


@pytest.mark.parametrize('table, message', [
    (stages((0, 3), (4, 8)), r'stages\[1\].begin=4: a gap after stage '
     r"'warm', which ends at 3"),
    (stages((0, 3), (2, 8)), r'stages\[1\].begin=2: an overlap'),
    (stages((1, 3), (3, 8)), r'stages\[0\].begin=1: the first stage must '
     'begin at iteration 0'),
    (stages((0, 3), (3, 3)), r'stages\[1\]: end \(3\) must be greater'),
    (stages((0, 3), (3, 8), names=('joint', 'warm')),
     r"stages\[1\].name='warm': stages run in the order \['warm', 'joint'\]"),
    ([dict(name='burn_in', begin=0, end=3)],
     r"stages\[0\].name='burn_in': Toy has the stages \['warm', 'joint'\]"),
    ([dict(name='warm', begin=0, end=3, lr=0.1)],
     r"stages\[0\]: unknown key\(s\) \['lr'\]"),
    ([dict(name='warm', begin=0)], r"stages\[0\]: missing \['end'\]"),
    ([dict(name='warm', begin=0, end=2.5)], r'stages\[0\].end must be an '
     'int'),
    (None, r'Toy trains in stages \[.warm., .joint.\]'),
])
def test_bad_stage_tables_are_named(table, message):
    with pytest.raises((ValueError, TypeError), match=message):
        StageSchedule.build(table, SPECS, 'Toy', 'stages')


# ---------------------------------------------------------------------- #
# a staged toy method: a segmentor step (critic frozen), a critic step; the
# teacher's consistency only in the 'joint' stage
# ---------------------------------------------------------------------- #
@MODELS.register_module(force=True)
class StagedToy(MultiOptimMixin, SemiBaseSegmentor):
    stage_specs = SPECS

    def __init__(self, segmentor, semi_train_cfg=None, **kwargs):
        super().__init__(segmentor, semi_train_cfg, **kwargs)
        self.critic = nn.Sequential(nn.Conv2d(3, 2, 1), nn.BatchNorm2d(2))

    def optim_steps(self):
        return (OptimStep('segmentor', self.segmentor_losses,
                          frozen=('critic', )),
                OptimStep('critic', self.critic_losses))

    def segmentor_losses(self, batch, carry):
        x, s = batch['inputs'], batch['data_samples']
        losses = self.sup_losses(self.student.loss(x['sup'], s['sup']))
        # the critic's output joins the segmentor loss: frozen in both
        # steps' segmentor pass, it gets no gradient here
        losses['sup.loss_critic'] = 0.01 * self.critic(x['sup']).mean()
        if self.stage.teacher:
            target = self.teacher_probs(x['unsup_teacher'])
            pred = full_res_logits(self.student, x['unsup_student'])
            losses['unsup.loss_cons'] = F.mse_loss(pred.softmax(1), target)
        carry['x'] = x['sup']
        return losses

    def critic_losses(self, batch, carry):
        return {'critic.loss': self.critic(carry['x']).pow(2).mean()}


def toy_model(stage_table=None):
    return MODELS.build(
        dict(type='StagedToy', segmentor=tiny_segmentor(),
             semi_train_cfg=dict(stages=stage_table or stages((0, 3),
                                                              (3, 8)))))


def test_stage_entry_freezes_and_unfreezes_restoring_own_flags():
    model = toy_model()
    model.train()
    first = model.critic[0]
    first.bias.requires_grad_(False)  # frozen by the user, stays frozen
    assert model.sync_stage(0).name == 'warm'
    assert not any(p.requires_grad for p in model.critic.parameters())
    model.train()  # the runner's model.train() keeps it in eval mode
    assert not model.critic.training and model.student.training
    assert model.sync_stage(4).name == 'joint'
    assert first.weight.requires_grad and not first.bias.requires_grad
    assert model.critic.training
    # the teacher stays frozen whatever the stage
    assert not any(p.requires_grad for p in model.teacher.parameters())
    assert not model.teacher.training
    assert model.sync_stage(1).name == 'warm'  # and back
    assert not first.weight.requires_grad


def test_stage_without_unlabelled_images_gets_the_labelled_branch():
    """'warm' (unlabelled=False) receives and needs only the labelled
    branch: the unlabelled images are not preprocessed; 'joint' gets and
    needs every branch."""
    from mmengine.logging import MessageHub
    model = toy_model()
    x = torch.zeros(1, 3, 8, 8)
    data = dict(
        inputs=dict(sup=[x], unsup_teacher=[x], unsup_student=[x]),
        data_samples=dict(sup=['s'], unsup_teacher=['t'],
                          unsup_student=['u']))
    hub = MessageHub.get_current_instance()
    hub.update_info('iter', 1)
    warm = model.stage_batch(data)
    assert warm == dict(inputs=dict(sup=[x]), data_samples=dict(sup=['s']))
    assert model.required_branches() == ('sup', )
    model.check_batch(dict(sup=x), dict(sup=['s']))  # enough in 'warm'
    hub.update_info('iter', 3)
    assert model.stage_batch(data) is data
    assert model.required_branches() == model.train_branches
    with pytest.raises(ValueError, match="no 'unsup_teacher' images"):
        model.check_batch(dict(sup=x), dict(sup=['s']))


def test_stage_freezing_an_unknown_module_is_named():
    model = toy_model([dict(name='warm', begin=0, end=2, frozen=['critc']),
                       dict(name='joint', begin=2, end=4)])
    with pytest.raises(AttributeError, match=r"model.semi_train_cfg.stages"
                       r"\[0\] \(stage 'warm'\) freezes 'critc'"):
        model.sync_stage(0)


def test_stages_key_is_refused_by_methods_without_stages():
    with pytest.raises(ValueError, match=r"unknown semi_train_cfg key\(s\) "
                       r"\['stages'\]"):
        MODELS.build(dict(type='MeanTeacher', segmentor=tiny_segmentor(),
                          semi_train_cfg=dict(stages=stages((0, 2),
                                                            (2, 4)))))


def test_stage_poly_lr_restarts_from_the_configured_rate():
    p = nn.Parameter(torch.zeros(1))
    opt = SGD([p], lr=1.0)
    wrapper = OptimWrapper(opt)
    kw = dict(power=1.0, eta_min=0.0, by_epoch=False)
    scheds = [StagePolyLR(wrapper, begin=0, end=3, **kw),
              StagePolyLR(wrapper, begin=3, end=6, start_factor=0.5, **kw)]
    lrs = []
    for _ in range(6):
        lrs.append(opt.param_groups[0]['lr'])
        opt.step()
        for s in scheds:
            s.step()
    # T = end - begin - 1 = 2 steps per stage: 1, 0.5, 0 then 0.5, 0.25, 0
    assert lrs == pytest.approx([1.0, 0.5, 0.0, 0.5, 0.25, 0.0])


# ---------------------------------------------------------------------- #
# through the runner
# ---------------------------------------------------------------------- #
def staged_cfg(root, work, iters=8, switch=3, ckpt=None):
    cfg = load_cfg(cfg_path('mean_teacher/dilatedconvnet_synthetic_1-16.py'),
                   semi_overrides(root, work, iters, val=False))
    seg = copy.deepcopy(cfg.model.segmentor)
    cfg.model = dict(
        type='StagedToy', segmentor=seg,
        data_preprocessor=cfg.model.data_preprocessor,
        semi_train_cfg=dict(stages=stages((0, switch), (switch, iters))))
    cfg.optim_wrapper = dict(
        constructor='MultiOptimWrapperConstructor',
        segmentor=dict(modules='student',
                       optimizer=dict(type='SGD', lr=0.05, momentum=0.9)),
        critic=dict(modules='critic',
                    optimizer=dict(type='SGD', lr=0.1)))
    poly = dict(type='StagePolyLR', power=1.0, eta_min=0.0, by_epoch=False)
    cfg.param_scheduler = dict(
        segmentor=[dict(poly, begin=0, end=switch),
                   dict(poly, begin=switch, end=iters)],
        critic=[dict(poly, begin=switch, end=iters)])
    cfg.custom_hooks = [dict(type='EMATeacherHook', momentum=0.9)]
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint.interval = ckpt or iters
    return cfg


@pytest.fixture
def recorded(monkeypatch):
    """Per iteration, before its step: the stage, the learning rates, the
    critic's weight and whether the teacher equals the student."""
    rows = []
    original = StagedToy.train_step

    def train_step(self, data, optim_wrapper):
        from mmengine.logging import MessageHub
        rows.append(dict(
            iter=MessageHub.get_current_instance().get_info('iter'),
            stage=self.stage.name,
            lr=optim_wrapper.get_lr(),
            critic=self.critic[0].weight.detach().clone(),
            teacher_is_student=all(
                torch.equal(a, b) for a, b in zip(
                    self.teacher.parameters(), self.student.parameters()))))
        return original(self, data, optim_wrapper)

    monkeypatch.setattr(StagedToy, 'train_step', train_step)
    return rows


def test_runner_switches_stage_optimisers_lr_and_teacher(
        synthetic_root, tmp_path, recorded):
    runner = train(staged_cfg(synthetic_root, str(tmp_path)))
    rows = recorded
    assert [r['iter'] for r in rows] == list(range(8))
    assert [r['stage'] for r in rows] == ['warm'] * 3 + ['joint'] * 5
    # warm: the critic neither steps nor gets gradients; its first step
    # is iteration 3's
    for r in rows[:4]:
        assert torch.equal(r['critic'], rows[0]['critic'])
    assert not torch.equal(rows[4]['critic'], rows[0]['critic'])
    # each stage's poly restarts at the configured rate: 0.05 (1 - t / T),
    # T = stage length - 1
    seg_lr = [r['lr']['segmentor.lr'][0] for r in rows]
    assert seg_lr == pytest.approx([0.05, 0.025, 0.0, 0.05, 0.0375, 0.025,
                                    0.0125, 0.0])
    # the teacher is not copied nor averaged during 'warm'; it becomes the
    # student at the first 'joint' iteration, then follows by EMA
    assert [r['teacher_is_student'] for r in rows[:4]] == [False] * 3 + [
        True]
    assert not any(r['teacher_is_student'] for r in rows[4:])
    model = runner.model
    assert not torch.equal(next(model.teacher.parameters()),
                           next(model.student.parameters()))


def test_bad_stage_end_stops_before_training(synthetic_root, tmp_path):
    cfg = staged_cfg(synthetic_root, str(tmp_path), iters=8)
    cfg.model.semi_train_cfg.stages = stages((0, 3), (3, 7))
    cfg.param_scheduler = None
    with pytest.raises(ValueError, match=r'model.semi_train_cfg.stages end '
                       r'at iteration 7 but train_cfg.max_iters is 8'):
        train(cfg)
    assert not osp.exists(osp.join(str(tmp_path), 'iter_1.pth'))


def test_resume_mid_stage_equals_uninterrupted(synthetic_root, tmp_path):
    """Stop inside the 'joint' stage (after the teacher started), resume:
    every weight, the teacher's included, equals the straight run."""
    ref = train(staged_cfg(synthetic_root, str(tmp_path / 'full'))
                ).model.state_dict()
    half = str(tmp_path / 'half')
    cfg = staged_cfg(synthetic_root, half, ckpt=5)
    cfg.train_cfg.max_iters = 5
    train(cfg)
    got = train(staged_cfg(synthetic_root, half, ckpt=5),
                resume=True).model.state_dict()
    for k in ref:
        assert torch.equal(got[k], ref[k]), k
