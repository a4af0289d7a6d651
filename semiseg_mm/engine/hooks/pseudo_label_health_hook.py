"""A live health monitor of the pseudo-labels a student learns from.

A teacher that collapses (it labels nearly every pixel background with high
confidence, the filter accepts almost all of it, the student learns to
predict background everywhere) looks like normal training in the loss
curves; users find it at the final validation, hours later (mmdetection
#10223, #10556 report the detection form). Every ``interval`` iterations
:class:`PseudoLabelHealthHook` reports, and sends to MMEngine's visualizer
backends (``scalars.json``, TensorBoard, W&B) under ``health/``:

* from the training batches of the interval: the share of unlabelled pixels
  the filter accepted (``accept_share``), each pseudo-class's share of the
  accepted pixels (``class_share/<class>``) next to its share of the
  labelled pixels (``labelled_freq/<class>``), and a filter's per-class
  thresholds (``threshold/<class>``) when it has them;
* on a *probe*, unlabelled training images whose masks are known (the
  synthetic sets have them; a user can hold back labelled images in the
  unlabelled split and point the probe at their masks): the pseudo-label
  accuracy (``pl_acc``, and ``pl_acc_accepted`` on the accepted pixels) and
  how well the filter finds the wrong pixels, by rejecting them
  (``wrong_precision``, ``wrong_recall``, ``wrong_f1``, and ``f1/<class>``
  per pseudo-class), next to the best a single confidence threshold does
  (``conf_best_f1`` at ``conf_best_threshold``, with its precision and
  recall: ELN's Table 4 comparison, for any filter); with
  ``score_figures=True``, also the best single threshold on the filter's own
  score where it has one (``score_best_f1`` at ``score_best_threshold``:
  ELN's probability that a pseudo-label is right, 1 - GCT's flaw map).

With ``vis_interval``, it also draws the first probe images every
``vis_interval`` iterations (``pseudo_label_probe`` in the visualizer:
``vis_data/vis_image/`` with ``LocalVisBackend``): the image, its mask, the
teacher's pseudo-labels and confidence, the filter's own score where it has
one (ELN's probability that a pseudo-label is right), the accepted
pseudo-labels and the verdict of each pixel against the mask (accepted right
/ accepted wrong / rejected wrong, i.e. caught / rejected right, i.e. lost);
``tools/visualize_semi.py --probe`` draws the same for a checkpoint.

It warns in the log, with the figures, when the pseudo-labels collapse for
``patience`` intervals in a row: one class takes over the accepted pixels
(the other classes keep under ``rest_ratio`` of their labelled share), or
almost nothing is accepted (under ``min_accept``); ``stop=True`` stops the
run instead. ``tools/plot_health.py`` draws the figures of a finished run.
In a training stage without unlabelled images (``StageSpec(unlabelled=
False)``: ELN's pre-training and ELN stages) it reports nothing: there are
no pseudo-labels to judge, and the teacher has not started.
"""
import logging
import math
import os.path as osp
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from mmengine.dataset import Compose, pseudo_collate
from mmengine.hooks import Hook
from mmengine.logging import print_log

from semiseg_mm.datasets.base import DatasetError
from semiseg_mm.datasets.checks import full_scan, label_rule
from semiseg_mm.models.wrappers import unwrap
from semiseg_mm.registry import HOOKS

PROBE_KEYS = ('seg_map_path', 'seg_map_suffix', 'ann_file', 'num', 'seed',
              'batch_size')


class PseudoLabelCollapseError(RuntimeError):
    """The pseudo-labels collapsed and ``stop=True``."""


def _f1(p: float, r: float) -> float:
    """F1 of precision ``p`` and recall ``r``; a filter that rejects
    nothing (``p`` undefined) found none of the wrong pixels: 0. Undefined
    (nan) only where there is no wrong pixel to find."""
    if math.isnan(r):
        return math.nan
    if math.isnan(p):
        return 0.0
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def _fmt(v: float, spec: str) -> str:
    return '-' if math.isnan(v) else format(v, spec)


def best_threshold_f1(confidence: torch.Tensor, wrong: torch.Tensor,
                      prefix: str = 'conf_best') -> Dict[str, float]:
    """The best single confidence threshold at finding wrong pixels:
    rejecting the pixels with ``confidence <= t``, the ``t`` with the
    highest F1 (ELN's Table 4 baseline), with its precision and recall, as
    ``<prefix>_f1``, ``_threshold``, ``_precision``, ``_recall`` (any score
    that is high where a pixel is right ranks the same way). Vectorised:
    one sort, every distinct threshold at once."""
    conf = confidence.flatten().to(torch.float)
    w = wrong.flatten().to(torch.float)
    total = float(w.sum())
    if conf.numel() == 0 or total == 0:
        return {}
    order = torch.argsort(conf, stable=True)
    conf, w = conf[order], w[order]
    hits = torch.cumsum(w, 0)
    rejected = torch.arange(1, len(w) + 1, dtype=torch.float)
    f1 = 2 * hits / (rejected + total)
    last = torch.ones_like(conf, dtype=torch.bool)  # last of equal values
    last[:-1] = conf[1:] > conf[:-1]
    f1 = torch.where(last, f1, torch.full_like(f1, -1.0))
    i = int(torch.argmax(f1))
    return {f'{prefix}_f1': float(f1[i]),
            f'{prefix}_threshold': float(conf[i]),
            f'{prefix}_precision': float(hits[i] / rejected[i]),
            f'{prefix}_recall': float(hits[i] / total)}


def probe_figures(labels: torch.Tensor, accept: torch.Tensor,
                  gt: torch.Tensor, num_classes: int,
                  ignore_index: int = 255,
                  confidence: Optional[torch.Tensor] = None,
                  score: Optional[torch.Tensor] = None
                  ) -> Dict[str, float]:
    """Pseudo-label accuracy and the filter's precision / recall / F1 at
    finding wrong pixels (a rejected pixel counts as a positive; soft
    filters reject ``1 - weight`` of a pixel), overall and per pseudo-class
    (``f1/<c>``); with the teacher's ``confidence``, also the best single
    threshold's (:func:`best_threshold_f1`); with the filter's own
    ``score`` (high where it trusts a pixel), the best single threshold on
    that score (``score_best_*``: whether the filter ranks the pixels worse
    than the confidence does, or only cuts them at a worse place). Pixels
    whose mask is the ignore index do not count."""
    m = (gt != ignore_index) & (gt >= 0) & (gt < num_classes)
    wrong = (labels != gt)[m].to(torch.float)
    weight = accept[m].to(torch.float)
    reject = 1 - weight
    lab = labels[m]
    out = {'pl_acc': float(1 - wrong.mean()) if wrong.numel() else math.nan}
    out['pl_acc_accepted'] = float(
        ((1 - wrong) * weight).sum() / weight.sum()) if float(
            weight.sum()) > 0 else math.nan

    def prf(sel):
        hit = float((wrong[sel] * reject[sel]).sum())
        p = hit / float(reject[sel].sum()) if float(
            reject[sel].sum()) > 0 else math.nan
        r = hit / float(wrong[sel].sum()) if float(
            wrong[sel].sum()) > 0 else math.nan
        return p, r

    p, r = prf(torch.ones_like(wrong, dtype=torch.bool))
    out['wrong_precision'], out['wrong_recall'] = p, r
    out['wrong_f1'] = _f1(p, r)
    for c in range(num_classes):
        sel = lab == c
        if not bool(sel.any()):
            continue
        p, r = prf(sel)
        out[f'f1/{c}'] = _f1(p, r)
    if confidence is not None:
        out.update(best_threshold_f1(confidence[m], wrong > 0))
    if score is not None:
        out.update(best_threshold_f1(score[m], wrong > 0, 'score_best'))
    return out


@HOOKS.register_module()
class PseudoLabelHealthHook(Hook):
    """Report pseudo-label health every ``interval`` iterations and warn (or
    stop) when the pseudo-labels collapse.

    Args:
        interval: iterations between reports.
        probe: ``None`` (training-batch figures only), or where the masks of
            some unlabelled training images are: ``dict(seg_map_path=
            'ann_dir/train', num=64)``, the mask folder relative to the
            unlabelled dataset's ``data_root`` (``seg_map_suffix`` defaults
            to the dataset's); ``ann_file`` restricts the probe to the ids it
            lists (each must be an unlabelled image); ``num`` images are
            drawn with ``seed``; ``batch_size`` per forward pass. Checked
            before training: masks exist, decode, are as large as their
            images and hold valid values.
        rest_ratio: collapse onto class ``c`` when the other classes' share
            of the accepted pixels falls under ``rest_ratio`` times their
            share of the labelled pixels.
        min_accept: collapse when the accepted share of unlabelled pixels
            falls under this.
        patience: intervals in a row before warning (or stopping).
        stop: raise :class:`PseudoLabelCollapseError` instead of warning.
        vis_interval: iterations between probe pictures, drawn at the
            first report at or after each multiple (``None``: none). Needs
            ``probe``.
        vis_images: probe images per picture.
        score_figures: also report the best single threshold on the
            filter's own score (:meth:`PseudoLabelFilter.score`, where the
            filter has one) on the probe: one more sort of the probe's
            pixels per report (the filter's one pass gives the mask and the
            score, :meth:`PseudoLabelFilter.decide`);
            ``tools/pseudo_label_report.py`` turns it on.
    """
    priority = 'LOW'

    def __init__(self,
                 interval: int = 50,
                 probe: Optional[dict] = None,
                 rest_ratio: float = 0.25,
                 min_accept: float = 0.02,
                 patience: int = 3,
                 stop: bool = False,
                 vis_interval: Optional[int] = None,
                 vis_images: int = 4,
                 score_figures: bool = False) -> None:
        if interval < 1 or patience < 1:
            raise ValueError('PseudoLabelHealthHook: interval and patience '
                             f'must be >= 1, got {interval}, {patience}')
        if vis_interval is not None:
            if probe is None:
                raise ValueError('PseudoLabelHealthHook: vis_interval draws '
                                 'the probe images: it needs probe=dict('
                                 "seg_map_path=...)")
            if vis_interval < 1:
                raise ValueError('PseudoLabelHealthHook: vis_interval must '
                                 f'be >= 1, got {vis_interval}')
        if vis_images < 1:
            raise ValueError('PseudoLabelHealthHook: vis_images must be >= 1,'
                             f' got {vis_images}')
        if probe is not None:
            unknown = sorted(set(probe) - set(PROBE_KEYS))
            if unknown:
                raise ValueError(
                    f'PseudoLabelHealthHook: unknown probe key(s) {unknown}; '
                    f'known: {list(PROBE_KEYS)}')
            if 'seg_map_path' not in probe:
                raise ValueError('PseudoLabelHealthHook: probe needs '
                                 "seg_map_path (the unlabelled images' mask "
                                 'folder)')
        self.interval = interval
        self.probe_cfg = dict(probe) if probe is not None else None
        self.rest_ratio = rest_ratio
        self.min_accept = min_accept
        self.patience = patience
        self.stop = stop
        self.vis_interval = vis_interval
        self.vis_images = vis_images
        self.score_figures = score_figures
        self.alarm = 0  # intervals in a row with a collapse
        self._last_report = 0
        self.history: List[Dict[str, float]] = []
        self._sums: Optional[Dict[str, torch.Tensor]] = None
        self._probe: List[Tuple[torch.Tensor, torch.Tensor]] = []

    @classmethod
    def offline(cls, model, dataset, probe: dict,
                **kwargs) -> 'PseudoLabelHealthHook':
        """A hook set up, outside a runner, on ``model`` and a training
        ``dataset`` (a ``SemiDataset``) with its probe built and checked:
        for tools that measure or draw a trained checkpoint."""
        from types import SimpleNamespace
        hook = cls(probe=probe, **kwargs)
        hook.before_train(SimpleNamespace(
            model=model, train_dataloader=SimpleNamespace(dataset=dataset)))
        return hook

    # ------------------------------------------------------------------ #
    def _model(self, runner):
        model = unwrap(runner.model)
        if not hasattr(model, 'record_pseudo_label_stats'):
            raise TypeError(
                'PseudoLabelHealthHook needs a semi-supervised segmentor '
                f'(SemiBaseSegmentor); got {type(model).__name__}')
        return model

    def before_train(self, runner) -> None:
        model = self._model(runner)
        model.pl_stats_request = True
        self.classes = [str(c) for c in
                        runner.train_dataloader.dataset.metainfo['classes']]
        self.num_classes = model.num_classes
        self.ignore_index = model.ignore_index_of_labels()
        if self.probe_cfg is not None:
            self._probe = self._build_probe(runner, model)

    def _unlabelled_dataset(self, runner):
        dataset = runner.train_dataloader.dataset
        unlabeled = getattr(dataset, 'unlabeled', None)
        if unlabeled is None:
            raise DatasetError(
                'PseudoLabelHealthHook: probe needs a SemiDataset train set '
                f'(its unlabelled source); got {type(dataset).__name__}')
        return unlabeled

    def _probe_infos(self, runner) -> List[dict]:
        cfg, ds = self.probe_cfg, self._unlabelled_dataset(runner)
        seg_dir = cfg['seg_map_path']
        root = getattr(ds, 'data_root', None) or ''
        seg_dir = osp.join(root, seg_dir) if root else seg_dir
        if not osp.isdir(seg_dir):
            raise DatasetError(
                f'PseudoLabelHealthHook: probe.seg_map_path={seg_dir!r} does '
                'not exist (a folder of masks of unlabelled images, relative '
                "to the unlabelled dataset's data_root)")
        suffix = cfg.get('seg_map_suffix', getattr(ds, 'seg_map_suffix',
                                                   '.png'))
        img_dir, img_suffix = ds.data_prefix['img_path'], ds.img_suffix
        infos = {}
        for i in range(len(ds)):
            info = dict(ds.get_data_info(i))
            rel = osp.relpath(info['img_path'], img_dir)
            infos[rel[:-len(img_suffix)] if rel.endswith(img_suffix) else
                  osp.splitext(rel)[0]] = info
        ids = sorted(infos)
        if cfg.get('ann_file'):
            path = cfg['ann_file']
            path = osp.join(root, path) if root and not osp.isabs(
                path) else path
            if not osp.isfile(path):
                raise DatasetError(f'PseudoLabelHealthHook: probe.ann_file='
                                   f'{path!r} does not exist')
            with open(path) as f:
                wanted = [line.strip() for line in f if line.strip()]
            outside = [i for i in wanted if i not in infos]
            if outside:
                raise DatasetError(
                    f'PseudoLabelHealthHook: {len(outside)} id(s) of '
                    f'probe.ann_file={path!r} are not unlabelled training '
                    f'images, e.g. {outside[:3]}: the probe measures the '
                    'pseudo-labels of images the student learns from')
            ids = sorted(set(wanted))
        num = min(int(cfg.get('num', 64)), len(ids))
        order = np.random.default_rng(cfg.get('seed', 0)).permutation(
            len(ids))[:num]
        chosen = []
        for k in sorted(order):
            info = infos[ids[k]]
            info['seg_map_path'] = osp.join(seg_dir, ids[k] + suffix)
            info.setdefault('seg_fields', [])
            chosen.append(info)
        return chosen

    def _build_probe(self, runner, model):
        infos = self._probe_infos(runner)
        ds = self._unlabelled_dataset(runner)
        report = full_scan('PseudoLabelHealthHook probe', infos,
                           label_rule(ds), workers=4)
        if not report.ok:
            raise DatasetError(report.message())
        pipeline = Compose([
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations'),
            dict(type='PackSegInputs')
        ])
        samples = [pipeline(dict(info)) for info in infos]
        # one forward per group of same-sized images
        by_shape: Dict[tuple, list] = {}
        for s in samples:
            by_shape.setdefault(tuple(s['inputs'].shape), []).append(s)
        size = int(self.probe_cfg.get('batch_size', 16))
        chunks = []
        for group in by_shape.values():
            for i in range(0, len(group), size):
                data = model.data_preprocessor(
                    pseudo_collate(group[i:i + size]), False)
                gt = torch.stack([
                    s.gt_sem_seg.data.squeeze(0) for s in data['data_samples']
                ]).to(data['inputs'].device)
                chunks.append((data['inputs'], gt))
        print_log(
            f'PseudoLabelHealthHook: probe of {len(infos)} unlabelled '
            f'image(s) with masks from {self.probe_cfg["seg_map_path"]!r}',
            logger='current')
        return chunks

    # ------------------------------------------------------------------ #
    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        model = self._model(runner)
        stats, model.pl_stats = model.pl_stats, None
        if stats is not None:
            if self._sums is None:
                self._sums = {k: v.clone() for k, v in stats.items()}
            else:
                for k, v in stats.items():
                    self._sums[k] = self._sums[k] + v
        if (runner.iter + 1) % self.interval == 0:
            self.report(runner, model)

    def figures(self, model) -> Dict[str, float]:
        """This interval's figures (see the module docstring)."""
        sums, self._sums = self._sums, None
        out: Dict[str, float] = {}
        if sums is not None and float(sums['pixels']) > 0:
            accepted = sums['accepted']
            out['accept_share'] = float(accepted.sum() / sums['pixels'])
            total = float(accepted.sum())
            for c, name in enumerate(self.classes):
                out[f'class_share/{name}'] = float(
                    accepted[c]) / total if total > 0 else 0.0
            if 'labelled' in sums and float(sums['labelled'].sum()) > 0:
                freq = sums['labelled'] / sums['labelled'].sum()
                for c, name in enumerate(self.classes):
                    out[f'labelled_freq/{name}'] = float(freq[c])
        f = model.pseudo_label_filter
        thr = f.thresholds() if f is not None else None
        if thr is not None:
            for c, name in enumerate(self.classes):
                out[f'threshold/{name}'] = float(thr[c])
        if self._probe:
            got: Dict[str, List[torch.Tensor]] = {}
            for inputs, masks in self._probe:
                d = model.probe_details(inputs,
                                        with_score=self.score_figures)
                d['gt'] = masks
                # 'score' only where asked and the filter has one
                for k in ('labels', 'accept', 'confidence', 'score', 'gt'):
                    if k in d:
                        got.setdefault(k, []).append(d[k].flatten())
            cat = {k: torch.cat(v) for k, v in got.items()}
            probe = probe_figures(cat['labels'], cat['accept'], cat['gt'],
                                  self.num_classes, self.ignore_index,
                                  cat['confidence'], cat.get('score'))
            for k, v in probe.items():
                if k.startswith('f1/'):
                    k = f'f1/{self.classes[int(k[3:])]}'
                out[k] = v
        return out

    def probe_picture(self, model, palette) -> np.ndarray:
        """The RGB grid of the first ``vis_images`` probe images
        (:func:`~semiseg_mm.visualization.semi_vis.probe_panels`)."""
        from semiseg_mm.visualization import (preprocessor_mean_std,
                                              probe_panels, render_panels)
        inputs = torch.cat([x for x, _ in self._probe])[:self.vis_images]
        gt = torch.cat([m for _, m in self._probe])[:self.vis_images]
        details = model.probe_details(inputs, with_score=True)
        name = type(model.pseudo_label_filter).__name__
        panels = probe_panels(details, inputs, gt, self.ignore_index,
                              score_name=f'{name} score')
        mean, std = preprocessor_mean_std(model)
        return render_panels(panels, palette, mean, std, self.vis_images)

    def collapse(self, fig: Dict[str, float]) -> Optional[str]:
        """Why the pseudo-labels look collapsed this interval, or None."""
        if 'accept_share' not in fig:
            return None
        if fig['accept_share'] < self.min_accept:
            return (f'almost nothing accepted: {fig["accept_share"]:.1%} of '
                    f'unlabelled pixels (< {self.min_accept:.1%})')
        worst, worst_rest = None, math.inf
        for name in self.classes:
            share = fig.get(f'class_share/{name}')
            freq = fig.get(f'labelled_freq/{name}')
            if share is None or freq is None or freq >= 1:
                continue
            rest = (1 - share) / (1 - freq)
            if share > freq and rest < worst_rest:
                worst, worst_rest = name, rest
        if worst is not None and worst_rest < self.rest_ratio:
            share = fig[f'class_share/{worst}']
            freq = fig[f'labelled_freq/{worst}']
            return (f'pseudo-labels collapsing onto {worst!r}: '
                    f'{share:.1%} of the accepted pixels vs {freq:.1%} of '
                    f'the labelled ones (the other classes: {1 - share:.1%}'
                    f' vs {1 - freq:.1%}); {fig["accept_share"]:.1%} of '
                    'unlabelled pixels accepted')
        return None

    def report(self, runner, model) -> None:
        stage = getattr(model, 'stage', None)
        if stage is not None and not stage.unlabelled:
            # a training stage without unlabelled images (ELN's supervised
            # pre-training and ELN stages): no pseudo-labels to judge and
            # no teacher yet, so no figures and no probe passes
            self._sums = None
            return
        fig = self.figures(model)
        if not fig:
            return  # e.g. a supervised warm-up: no pseudo-labels yet
        step = runner.iter + 1
        fig_log = {f'health/{k}': v for k, v in fig.items()
                   if not math.isnan(v)}
        runner.visualizer.add_scalars(fig_log, step=step)
        self.history.append(dict(fig, iter=step))
        last, self._last_report = self._last_report, step
        if self.vis_interval and self._probe and \
                step // self.vis_interval > last // self.vis_interval:
            runner.visualizer.add_image(
                'pseudo_label_probe',
                self.probe_picture(
                    model,
                    runner.train_dataloader.dataset.metainfo['palette']),
                step=step)
        parts = []
        if 'accept_share' in fig:
            parts.append(f'accepted {fig["accept_share"]:.1%}')
            shares = ', '.join(
                f'{n} {fig[f"class_share/{n}"]:.0%}' +
                (f' ({fig[f"labelled_freq/{n}"]:.0%})'
                 if f'labelled_freq/{n}' in fig else '')
                for n in self.classes)
            parts.append(f'pseudo-classes (labelled): {shares}')
        if 'pl_acc' in fig:
            parts.append(f'probe accuracy {_fmt(fig["pl_acc"], ".1%")}, '
                         'on accepted '
                         f'{_fmt(fig["pl_acc_accepted"], ".1%")}, '
                         f'wrong-pixel F1 {_fmt(fig["wrong_f1"], ".2f")}' + (
                             f' (best confidence threshold '
                             f'{fig["conf_best_threshold"]:.2f}: '
                             f'{fig["conf_best_f1"]:.2f})'
                             if 'conf_best_f1' in fig else ''))
        print_log(f'PseudoLabelHealthHook: iteration {step}: ' +
                  '; '.join(parts), logger='current')
        why = self.collapse(fig)
        self.alarm = self.alarm + 1 if why else 0
        if why and self.alarm % self.patience == 0:
            msg = (f'PseudoLabelHealthHook: iteration {step}: {why}, for '
                   f'{self.alarm} intervals of {self.interval} iterations'
                   + (f'; probe pseudo-label accuracy {fig["pl_acc"]:.1%}'
                      if 'pl_acc' in fig else ''))
            if self.stop:
                print_log(msg + '; stopping (stop=True)', logger='current',
                          level=logging.ERROR)
                raise PseudoLabelCollapseError(msg)
            print_log(msg + '. The student is learning from collapsed '
                      'pseudo-labels: try a class-aware pseudo_label_filter '
                      '(ClassAdaptiveThreshold, ClassBalancedFilter) or a '
                      'longer supervised warm-up; stop=True stops the run.',
                      logger='current', level=logging.WARNING)

    def after_train(self, runner) -> None:
        model = self._model(runner)
        model.pl_stats_request = False
        model.pl_stats = None
