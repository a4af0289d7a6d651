"""The pseudo-label health hook: its figures on crafted batches, the
collapse warning and stop option, its probe checks, and a training run."""
import json
import logging
import math
import os.path as osp
import shutil

import cv2
import pytest
import torch

from helpers import REPO, cfg_path, load_cfg, semi_overrides, train
from semiseg_mm.datasets import DatasetError
from semiseg_mm.engine.hooks import (PseudoLabelCollapseError,
                                     PseudoLabelHealthHook, best_threshold_f1,
                                     probe_figures)

FIXMATCH = cfg_path('fixmatch/dilatedconvnet_synthetic_1-16.py')


def test_probe_figures_by_hand():
    # 8 pixels, 2 classes; gt 255 on the last one (not counted)
    labels = torch.tensor([0, 0, 0, 1, 1, 1, 0, 1])
    gt = torch.tensor([0, 1, 0, 1, 0, 1, 1, 255])
    accept = torch.tensor([1, 0, 1, 1, 1, 0, 0, 1], dtype=torch.bool)
    fig = probe_figures(labels, accept, gt, 2)
    # wrong: pixels 1, 4, 6 (3 of 7) -> accuracy 4/7
    assert fig['pl_acc'] == pytest.approx(4 / 7)
    # accepted 0, 2, 3, 4: one wrong (4) -> 3/4
    assert fig['pl_acc_accepted'] == pytest.approx(3 / 4)
    # rejected 1, 5, 6: wrong among them 1 and 6 -> precision 2/3;
    # wrong pixels found: 2 of 3 -> recall 2/3
    assert fig['wrong_precision'] == pytest.approx(2 / 3)
    assert fig['wrong_recall'] == pytest.approx(2 / 3)
    assert fig['wrong_f1'] == pytest.approx(2 / 3)
    # pseudo-class 0 (pixels 0, 1, 2, 6): rejected 1, 6, both wrong; wrong
    # 1, 6 -> P = R = 1; class 1 (3, 4, 5): rejected 5 (right), wrong 4
    assert fig['f1/0'] == pytest.approx(1.0)
    assert fig['f1/1'] == 0.0
    # soft weights reject fractionally
    soft = probe_figures(labels, accept.float() * 0.5 + 0.25, gt, 2)
    assert soft['wrong_precision'] == pytest.approx(
        (0.25 * 1 + 0.75 * 2) / (0.25 * 4 + 0.75 * 3))


def test_probe_figures_when_nothing_is_rejected_or_accepted():
    """A filter that rejects nothing finds none of the wrong pixels (F1 0,
    not undefined); accuracy on accepted pixels is undefined when none is
    accepted, and F1 when no pixel is wrong."""
    labels = torch.tensor([0, 0, 1, 1])
    gt = torch.tensor([0, 1, 1, 1])
    everything = probe_figures(labels, torch.ones(4, dtype=torch.bool), gt, 2)
    assert everything['wrong_recall'] == 0.0
    assert math.isnan(everything['wrong_precision'])
    assert everything['wrong_f1'] == 0.0
    assert everything['f1/0'] == 0.0
    assert math.isnan(everything['f1/1'])  # class 1 has no wrong pixel
    nothing = probe_figures(labels, torch.zeros(4, dtype=torch.bool), gt, 2)
    assert math.isnan(nothing['pl_acc_accepted'])
    # rejecting everything: precision 1/4, recall 1 -> F1 2/5
    assert nothing['wrong_f1'] == pytest.approx(0.4)
    right = probe_figures(labels, torch.ones(4, dtype=torch.bool), labels, 2)
    assert math.isnan(right['wrong_f1'])


def test_best_threshold_on_the_filters_own_score_by_hand():
    # the pixels of test_probe_figures_by_hand (wrong: 1, 4, 6; pixel 7's
    # mask is ignored); a score that ranks the wrong pixels lowest but one
    # (wrong pixel 4 scores above right pixel 2): rejecting score <= 0.2
    # finds 1 and 6 and nothing else: P 1, R 2/3 -> F1 4/5; <= 0.5 adds 2
    # and 4: P 3/4, R 1 -> 6/7, the best
    labels = torch.tensor([0, 0, 0, 1, 1, 1, 0, 1])
    gt = torch.tensor([0, 1, 0, 1, 0, 1, 1, 255])
    accept = torch.ones(8, dtype=torch.bool)
    score = torch.tensor([0.9, 0.1, 0.4, 0.8, 0.5, 0.7, 0.2, 0.0])
    fig = probe_figures(labels, accept, gt, 2, score=score)
    assert fig['score_best_threshold'] == pytest.approx(0.5)
    assert fig['score_best_precision'] == pytest.approx(3 / 4)
    assert fig['score_best_recall'] == pytest.approx(1.0)
    assert fig['score_best_f1'] == pytest.approx(6 / 7)
    assert not any(k.startswith('conf_best') for k in fig)
    assert not any(k.startswith('score_best') for k in probe_figures(
        labels, accept, gt, 2, confidence=score))


class ProbeModel:
    """probe_details of a filter with a score (ELN-like) for two
    batches of 2 x 1 x 2 pixels; records what the hook asked for."""
    pseudo_label_filter = None

    def __init__(self):
        self.asked = []

    def probe_details(self, inputs, with_score=False):
        self.asked.append(with_score)
        k = int(inputs)
        out = dict(labels=torch.tensor([[[0, 1]], [[1, 1]]]) if k == 0 else
                   torch.tensor([[[0, 0]], [[1, 0]]]),
                   accept=torch.ones(2, 1, 2, dtype=torch.bool),
                   confidence=torch.full((2, 1, 2), 0.9))
        if with_score:
            out['score'] = torch.tensor([[[0.9, 0.1]], [[0.2, 0.3]]]) \
                if k == 0 else torch.tensor([[[0.4, 0.5]], [[0.9, 0.6]]])
        return out


def test_probe_reports_the_filters_score_only_when_asked():
    gt = torch.zeros(2, 1, 2, dtype=torch.long)
    probe = [(torch.tensor(0), gt), (torch.tensor(1), gt + 1)]
    for asked in (False, True):
        hook = hook_with(classes=('bg', 'a'), score_figures=asked)
        hook.ignore_index = 255
        hook._probe = probe
        model = ProbeModel()
        fig = hook.figures(model)
        assert model.asked == [asked, asked]
        # wrong: batch 0 pixels 1, 2, 3 (labels 1 vs 0), batch 1 pixels 4,
        # 5, 7 (labels 0 vs 1): 6 of 8
        assert fig['pl_acc'] == pytest.approx(2 / 8)
        assert ('score_best_f1' in fig) == asked
    # the score puts the 6 wrong pixels (0.1-0.6) below the 2 right ones
    # (0.9): score <= 0.6 finds them all and nothing else; the constant
    # confidence can only reject everything: P 6/8, R 1 -> F1 12/14
    assert fig['score_best_threshold'] == pytest.approx(0.6)
    assert fig['score_best_f1'] == pytest.approx(1.0)
    assert fig['conf_best_f1'] == pytest.approx(12 / 14)


def test_best_confidence_threshold_by_hand_and_brute_force():
    # rejecting conf <= 0.3 finds wrong pixels 0 and 1 and one right pixel
    # (2): P 2/3, R 2/3 (pixel 6 is wrong and confident) -> F1 2/3; <= 0.1
    # gives 2 / (1 + 3) = 1/2, <= 0.9 4/7, everything 6/10; ties (0.3,
    # 0.3) are rejected together
    conf = torch.tensor([0.1, 0.3, 0.3, 0.9, 0.95, 0.97, 0.99])
    wrong = torch.tensor([True, True, False, False, False, False, True])
    fig = best_threshold_f1(conf, wrong)
    assert fig['conf_best_threshold'] == pytest.approx(0.3)
    assert fig['conf_best_f1'] == pytest.approx(2 / 3)
    assert fig['conf_best_precision'] == pytest.approx(2 / 3)
    assert fig['conf_best_recall'] == pytest.approx(2 / 3)
    assert best_threshold_f1(conf, torch.zeros(7, dtype=torch.bool)) == {}
    g = torch.Generator().manual_seed(0)
    conf = (torch.rand(300, generator=g) * 20).round() / 20  # many ties
    wrong = torch.rand(300, generator=g) < 0.6 - 0.5 * conf
    best = 0.0
    for t in conf.unique():
        rej = conf <= t
        tp = float((rej & wrong).sum())
        p, r = tp / float(rej.sum()), tp / float(wrong.sum())
        best = max(best, 2 * p * r / (p + r) if p + r else 0.0)
    assert best_threshold_f1(conf, wrong)['conf_best_f1'] == pytest.approx(
        best)


def hook_with(classes=('bg', 'a', 'b'), **kw):
    hook = PseudoLabelHealthHook(**kw)
    hook.classes = list(classes)
    hook.num_classes = len(classes)
    return hook


def figures(shares, freqs, accept=0.9):
    fig = {'accept_share': accept}
    for i, (s, f) in enumerate(zip(shares, freqs)):
        name = ('bg', 'a', 'b')[i]
        fig[f'class_share/{name}'] = s
        fig[f'labelled_freq/{name}'] = f
    return fig


def test_collapse_rules():
    hook = hook_with()
    freqs = [0.7, 0.2, 0.1]
    assert hook.collapse(figures([0.72, 0.18, 0.10], freqs)) is None
    why = hook.collapse(figures([0.97, 0.02, 0.01], freqs))
    # the others keep 3 % of the accepted pixels vs 30 % labelled: 0.1 <
    # 0.25 of their share
    assert "collapsing onto 'bg': 97.0% of the accepted pixels vs 70.0%" in \
        why and 'the other classes: 3.0% vs 30.0%' in why
    # a rare class taking over counts too
    assert "onto 'b'" in hook.collapse(figures([0.1, 0.1, 0.8], freqs))
    assert 'almost nothing accepted: 1.0%' in hook.collapse(
        figures([0.7, 0.2, 0.1], freqs, accept=0.01))


class FakeVisualizer:

    def __init__(self):
        self.scalars = []

    def add_scalars(self, d, step):
        self.scalars.append((step, d))


class FakeModel:
    pseudo_label_filter = None


class Records(logging.Handler):
    """Collects what print_log(logger='current') writes."""

    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(f'{record.levelname} - {record.getMessage()}')

    def __enter__(self):
        from mmengine.logging import MMLogger
        self.logger = MMLogger.get_current_instance()
        self.logger.addHandler(self)
        return self

    def __exit__(self, *exc):
        self.logger.removeHandler(self)

    def text(self):
        out, self.lines = '\n'.join(self.lines), []
        return out


def test_warns_after_patience_and_stop_option():
    # runner.iter is 0-based: report() at iter 9 is iteration 10
    runner = type('R', (), {'iter': -1, 'visualizer': FakeVisualizer()})()
    hook = hook_with(patience=2, interval=10)
    counts = dict(pixels=torch.tensor(100.), predicted=torch.zeros(3),
                  labelled=torch.tensor([70., 20., 10.]))

    def interval(accepted):
        hook._sums = dict(counts, accepted=torch.tensor(accepted))
        runner.iter += 10
        hook.report(runner, FakeModel())

    with Records() as records:
        interval([70., 19., 9.])  # healthy
        interval([97., 1., 1.])  # collapsing: 1
        assert 'collapsing' not in records.text()
        interval([97., 1., 1.])  # 2 in a row: warn
        out = records.text()
    assert "WARNING - PseudoLabelHealthHook: iteration 30: pseudo-labels " \
        "collapsing onto 'bg'" in out
    assert 'for 2 intervals of 10 iterations' in out
    step, logged = runner.visualizer.scalars[-1]
    assert step == 30 and logged['health/class_share/bg'] == pytest.approx(
        97 / 99)
    stopper = hook_with(patience=1, stop=True)
    stopper._sums = dict(counts, accepted=torch.tensor([99., 0., 0.]))
    with pytest.raises(PseudoLabelCollapseError, match="onto 'bg'"):
        stopper.report(runner, FakeModel())


def test_no_report_in_a_stage_without_unlabelled_images():
    """ELN's pre-training and ELN stages learn from no pseudo-labels and
    the teacher has not started: no figures, no probe pass, no warning;
    the next stage's interval reports again."""
    from semiseg_mm.models.utils.stages import Stage
    runner = type('R', (), {'iter': 9, 'visualizer': FakeVisualizer()})()
    hook = hook_with(patience=1, interval=10)
    probed = []
    hook._probe = [(None, None)]
    hook.figures = lambda model, _f=hook.figures: probed.append(1) or _f(
        model)
    counts = dict(pixels=torch.tensor(100.), predicted=torch.zeros(3),
                  labelled=torch.tensor([70., 20., 10.]),
                  accepted=torch.tensor([99., 0., 0.]))  # would warn
    model = FakeModel()
    model.stage = Stage('pretrain', 0, 20, 0, unlabelled=False)
    hook._sums = dict(counts)
    with Records() as records:
        hook.report(runner, model)
    assert not probed and not runner.visualizer.scalars
    assert hook._sums is None and hook.alarm == 0 and not records.text()
    model.stage = Stage('semi', 20, 40, 1, teacher=True)
    hook._probe = []
    hook._sums = dict(counts)
    runner.iter = 29
    with Records() as records:
        hook.report(runner, model)
    assert probed and runner.visualizer.scalars[-1][0] == 30
    assert "collapsing onto 'bg'" in records.text()


def health_cfg(root, work, iters=4, **hook):
    opts = semi_overrides(root, work, iters, val=False)
    opts['model.semi_train_cfg.rampup'] = None
    opts['custom_hooks'] = [
        dict(type='EMATeacherHook', momentum=0.99),
        dict(type='PseudoLabelHealthHook', interval=2,
             probe=dict(seg_map_path='ann_dir/train', num=16), **hook)
    ]
    return load_cfg(FIXMATCH, opts)


def test_fixmatch_run_logs_health_figures(synthetic_root, tmp_path):
    runner = train(health_cfg(synthetic_root, str(tmp_path)))
    hook = next(h for h in runner.hooks
                if isinstance(h, PseudoLabelHealthHook))
    assert [h['iter'] for h in hook.history] == [2, 4]
    last = hook.history[-1]
    assert 0 <= last['accept_share'] <= 1 and 0 <= last['pl_acc'] <= 1
    assert sum(last[f'labelled_freq/{c}'] for c in hook.classes) == \
        pytest.approx(1)
    # in the visualizer's scalars.json, where plot_health.py reads them
    logs = [osp.join(r, f) for r, _, fs in __import__('os').walk(tmp_path)
            for f in fs if f == 'scalars.json']
    records = [json.loads(line) for line in open(logs[0])]
    assert any('health/pl_acc' in r for r in records)


def test_a_collapsing_teacher_warns_or_stops(synthetic_root, tmp_path):
    """A teacher that labels every pixel background with full confidence:
    the accepted pixels are all background, against ~78 % labelled."""
    cfg = health_cfg(synthetic_root, str(tmp_path), iters=6, patience=2,
                     stop=True)
    from semiseg_mm.utils.launch import build_runner
    from mmengine.registry import init_default_scope
    init_default_scope('semiseg_mm')
    cfg.visualizer.name = 'collapse_vis'
    runner = build_runner(cfg)
    head = runner.model.teacher.decode_head.conv_seg
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(torch.tensor([50., 0, 0, 0, 0, 0]))
    # keep the teacher collapsed: no EMA updates
    runner.model.teacher.decode_head.conv_seg.requires_grad_(False)
    ema = next(h for h in runner._hooks if type(h).__name__ ==
               'EMATeacherHook')
    ema.before_train = lambda r: setattr(ema, '_pairs', ([], [], [], []))
    with pytest.raises(PseudoLabelCollapseError,
                       match=r"iteration 4: pseudo-labels collapsing onto "
                       r"'background': 100.0% of the accepted pixels"):
        runner.train()


def test_probe_inputs_are_checked_before_training(synthetic_root, tmp_path):
    root = tmp_path / 'data'
    shutil.copytree(synthetic_root, root)
    with open(root / 'splits/1-16_seed0/unlabeled.txt') as f:
        unlabelled = [line.strip() for line in f]
    mask = root / 'ann_dir/train' / f'{unlabelled[0]}.png'
    cv2.imwrite(str(mask), cv2.imread(str(mask),
                                      cv2.IMREAD_UNCHANGED)[:40, :40])
    cfg = health_cfg(str(root), str(tmp_path / 'w1'))
    cfg.custom_hooks[1].probe.num = 100  # every unlabelled image
    with pytest.raises(DatasetError, match=rf'{unlabelled[0]}.png is 40x40'):
        train(cfg)
    # ids that are not unlabelled images (here: the labelled ones)
    cfg = health_cfg(synthetic_root, str(tmp_path / 'w2'))
    cfg.custom_hooks[1].probe.ann_file = 'splits/1-16_seed0/labeled.txt'
    with pytest.raises(DatasetError, match=r'2 id\(s\) of probe.ann_file=.*'
                       'are not unlabelled training images'):
        train(cfg)
    with pytest.raises(ValueError, match=r"unknown probe key\(s\) "
                       r"\['seg_dir'\]"):
        PseudoLabelHealthHook(probe=dict(seg_dir='ann_dir/train'))


def test_verdict_map_by_hand():
    from semiseg_mm.visualization import verdict_map
    labels = torch.tensor([[0, 0, 1, 1, 2]])
    gt = torch.tensor([[0, 1, 1, 0, 255]])
    accept = torch.tensor([[True, True, False, False, True]])
    # accepted right, accepted wrong, rejected right (lost), rejected wrong
    # (caught), no mask
    assert verdict_map(labels, accept, gt).tolist() == [[0, 1, 3, 2, 255]]
    # soft weights count as accepted from 0.5
    soft = torch.tensor([[0.3, 0.49, 0.5, 0.1, 0.0]])
    assert verdict_map(labels, soft, gt).tolist() == [[3, 2, 0, 2, 255]]
    with pytest.raises(ValueError, match='one shape'):
        verdict_map(labels, accept, gt[:, :4])


def test_probe_panels_and_their_legend():
    from semiseg_mm.visualization import (VERDICTS, probe_panels,
                                          render_panels)
    g = torch.Generator().manual_seed(0)
    probs = torch.rand(2, 3, 8, 8, generator=g).softmax(1)
    conf, labels = probs.max(1)
    gt = torch.randint(0, 3, (2, 8, 8), generator=g)
    gt[:, 0] = 255
    details = dict(probs=probs, labels=labels, confidence=conf,
                   accept=conf > 0.4, score=torch.rand(2, 8, 8, generator=g))
    panels = probe_panels(details, torch.rand(2, 3, 8, 8), gt,
                          score_name='ELNFilter score')
    assert list(panels) == ['image', 'ground_truth', 'teacher_probs',
                            'ELNFilter score', 'accepted_labels', 'verdict']
    # rejected pixels are drawn as ignore (black), accepted ones keep their
    # label
    acc = panels['accepted_labels']
    assert torch.equal(acc[conf > 0.4], labels[conf > 0.4])
    assert bool((acc[conf <= 0.4] == 255).all())
    palette = [[10, 10, 10], [200, 0, 0], [0, 200, 0]]
    grid = render_panels(panels, palette)
    plain = render_panels({k: v for k, v in panels.items()
                           if k != 'verdict'}, palette)
    assert grid.shape[0] == plain.shape[0] + 18  # the legend strip
    # the verdict panel (last) is drawn in the VERDICTS colours, black where
    # no mask
    top = 16
    tile = grid[top:top + 128, -128:]
    colours = {tuple(c) for c in tile.reshape(-1, 3)}
    assert colours <= {tuple(c) for _, c in VERDICTS} | {(0, 0, 0)}
    assert (tile[:16] == 0).all()  # first mask row is the ignore index
    assert (tile[16:].reshape(-1, 3).max(1) > 0).all()  # masks: coloured


def test_probe_pictures_during_training(synthetic_root, tmp_path):
    with pytest.raises(ValueError, match='needs probe'):
        PseudoLabelHealthHook(vis_interval=2)
    with pytest.raises(ValueError, match='vis_interval must be >= 1'):
        PseudoLabelHealthHook(vis_interval=0,
                              probe=dict(seg_map_path='ann_dir/train'))
    # reports at 2, 4, 6: a picture at the first report past each multiple
    # of 3 (iterations 4 and 6)
    train(health_cfg(synthetic_root, str(tmp_path), iters=6, vis_interval=3,
                     vis_images=2))
    pics = sorted(f for r, _, fs in __import__('os').walk(tmp_path)
                  for f in fs if f.startswith('pseudo_label_probe'))
    assert pics == ['pseudo_label_probe_4.png', 'pseudo_label_probe_6.png']


def test_plot_tool_draws_a_finished_run(synthetic_root, tmp_path):
    import subprocess
    import sys
    train(health_cfg(synthetic_root, str(tmp_path)))
    out = tmp_path / 'health.png'
    r = subprocess.run([
        sys.executable, osp.join(REPO, 'tools/plot_health.py'),
        str(tmp_path), '--out', str(out)
    ], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert out.is_file() and out.stat().st_size > 1000
    assert math.isfinite(float(r.stdout.split('last pl_acc ')[1].split()[0]))
