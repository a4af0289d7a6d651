"""Checks and a health view for semi-supervised detection.

:class:`SemiDetDataCheckHook` stops a run before its first iteration when
the labelled/unlabelled split is broken: an annotation file naming images
that are not in the image folder, or an image in both parts.

:class:`DetPseudoBoxHealthHook` is the detection form of the segmentation
methods' pseudo-label health monitor. mmdet users report runs whose teacher
stops producing boxes, so that the unsupervised losses stay 0 and nothing
says so (mmdetection #10223, #10556). Every ``interval`` iterations it
reports, under ``health/`` in the log and MMEngine's visualizer backends:

* from the training batches of the interval: the pseudo-boxes per
  unlabelled image the student learnt from (the detector's logged
  ``unsup.pseudo_boxes``, boxes above ``cls_pseudo_thr``), as
  ``pseudo_boxes``;
* on a *probe* of unlabelled training images whose boxes are held back
  (the synthetic set's ``-unlabeled`` files keep them; a user can point it
  at any COCO file of such images): the teacher's boxes above the score
  threshold per image (``probe_boxes``), their precision and recall at IoU
  ``iou_thr`` against the held-back boxes of the same class
  (``box_precision``, ``box_recall``), and the held-back boxes per image
  (``gt_boxes``).

It warns in the log, with the figures, when the teacher produces fewer
than ``min_boxes`` pseudo-boxes per unlabelled image for ``patience``
intervals in a row (intervals inside a detector's supervised burn-in,
``semi_train_cfg.burn_in_iters``, do not count); ``stop=True`` stops the
run instead.
"""
import copy
import logging
import os.path as osp
from typing import Dict, List, Optional

import torch
from mmengine.dataset import pseudo_collate
from mmengine.hooks import Hook
from mmengine.logging import print_log

from semiseg_mm.det.registry import DATASETS, HOOKS
from semiseg_mm.models.wrappers import unwrap


class PseudoBoxCollapseError(RuntimeError):
    """The teacher stopped producing pseudo-boxes and ``stop=True``."""


def _sources(runner) -> List[dict]:
    """The train dataset's part configs (a ``ConcatDataset``'s
    ``datasets``, or the dataset itself)."""
    ds = runner.cfg.train_dataloader.dataset
    return list(ds.get('datasets', [ds]))


def _where(part: dict) -> str:
    return osp.join(part.get('data_root') or '', part.get('ann_file') or '')


@HOOKS.register_module()
class SemiDetDataCheckHook(Hook):
    """Before training: every image an annotation file of the training set
    names exists in its image folder, and no image is both labelled and
    unlabelled. Errors name the annotation file and the first offenders."""
    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        dataset = runner.train_dataloader.dataset
        parts = list(getattr(dataset, 'datasets', [dataset]))
        cfgs = _sources(runner)
        paths = []
        for part, cfg in zip(parts, cfgs):
            part.full_init()
            names = [part.get_data_info(i)['img_path']
                     for i in range(len(part))]
            missing = [p for p in names if not osp.isfile(p)]
            if missing:
                raise FileNotFoundError(
                    f'{_where(cfg)}: {len(missing)} of its {len(names)} '
                    f'images are not in the image folder, e.g. '
                    f'{missing[:3]}; check data_root / data_prefix.img or '
                    'the annotation file')
            paths.append(names)
        if len(paths) == 2:
            both = sorted(set(paths[0]) & set(paths[1]))
            if both:
                raise ValueError(
                    f'{len(both)} images are both labelled ({_where(cfgs[0])}'
                    f') and unlabelled ({_where(cfgs[1])}), e.g. '
                    f'{both[:3]}; the split overlaps (tools/split_coco.py '
                    'writes disjoint parts)')


def box_match(pred_boxes: torch.Tensor, pred_labels: torch.Tensor,
              gt_boxes: torch.Tensor, gt_labels: torch.Tensor,
              iou_thr: float = 0.5) -> int:
    """True positives among the predicted boxes (in descending score
    order): each matches at most one unmatched ground-truth box of its
    class with IoU >= ``iou_thr``, greedily by IoU."""
    from mmdet.structures.bbox import bbox_overlaps
    if len(pred_boxes) == 0 or len(gt_boxes) == 0:
        return 0
    iou = bbox_overlaps(pred_boxes.float(), gt_boxes.float())
    iou[pred_labels[:, None] != gt_labels[None, :]] = -1.0
    used = torch.zeros(len(gt_boxes), dtype=torch.bool)
    tp = 0
    for i in range(len(pred_boxes)):
        row = iou[i].clone()
        row[used] = -1.0
        best = int(torch.argmax(row))
        if row[best] >= iou_thr:
            used[best] = True
            tp += 1
    return tp


@HOOKS.register_module()
class DetPseudoBoxHealthHook(Hook):
    """Pseudo-box counts, their precision against held-back boxes, and a
    warning when the teacher stops producing boxes (module docstring).

    Args:
        interval: iterations between reports.
        probe: ``None`` (no probe), or a dict: ``ann_file`` (a COCO file of
            unlabelled training images with their held-back boxes; default:
            the unlabelled part's own), ``num`` images (16), ``batch_size``
            (8). Images are read with the validation pipeline plus box
            loading, from the unlabelled part's ``data_root`` and
            ``data_prefix``.
        score_thr: the teacher's score threshold for a pseudo-box; default
            the detector's ``semi_train_cfg.cls_pseudo_thr``.
        iou_thr: IoU for a pseudo-box to count as right.
        min_boxes: fewer pseudo-boxes per unlabelled image than this is a
            collapse.
        patience: collapsed intervals in a row before the warning.
        stop: raise :class:`PseudoBoxCollapseError` instead of warning.
    """
    priority = 'LOW'

    def __init__(self,
                 interval: int = 100,
                 probe: Optional[dict] = dict(num=16),
                 score_thr: Optional[float] = None,
                 iou_thr: float = 0.5,
                 min_boxes: float = 0.1,
                 patience: int = 3,
                 stop: bool = False) -> None:
        if interval < 1 or patience < 1:
            raise ValueError('DetPseudoBoxHealthHook: interval and patience '
                             'must be >= 1')
        probe = dict(probe) if probe is not None else None
        if probe is not None:
            unknown = sorted(set(probe) - {'ann_file', 'num', 'batch_size'})
            if unknown:
                raise ValueError(f'DetPseudoBoxHealthHook: unknown probe '
                                 f'key(s) {unknown}; known: ann_file, num, '
                                 'batch_size')
        self.interval = interval
        self.probe_cfg = probe
        self.score_thr = score_thr
        self.iou_thr = iou_thr
        self.min_boxes = min_boxes
        self.patience = patience
        self.stop = stop
        self._probe = None
        self._collapsed = 0
        self.history: List[Dict[str, float]] = []

    # ------------------------------------------------------------------ #
    def _thr(self, model) -> float:
        if self.score_thr is not None:
            return self.score_thr
        return float(model.semi_train_cfg.cls_pseudo_thr)

    def before_train(self, runner) -> None:
        if self.probe_cfg is None:
            return
        parts = _sources(runner)
        if len(parts) != 2:
            raise ValueError('DetPseudoBoxHealthHook: the training set must '
                             'be a ConcatDataset of a labelled and an '
                             'unlabelled part for the probe; set probe=None')
        unlab = parts[1]
        pipeline = copy.deepcopy(runner.cfg.val_dataloader.dataset.pipeline)
        if not any(t['type'].split('.')[-1] == 'LoadAnnotations'
                   for t in pipeline):
            pipeline.insert(1, dict(type='LoadAnnotations', with_bbox=True))
        cfg = dict(
            type=unlab['type'],
            data_root=unlab.get('data_root'),
            data_prefix=unlab.get('data_prefix'),
            ann_file=self.probe_cfg.get('ann_file') or unlab['ann_file'],
            test_mode=True,
            filter_cfg=dict(filter_empty_gt=False),
            pipeline=pipeline)
        if unlab.get('metainfo') is not None:
            cfg['metainfo'] = unlab['metainfo']
        ds = DATASETS.build(cfg)
        num = min(int(self.probe_cfg.get('num', 16)), len(ds))
        if num == 0:
            raise ValueError(f'DetPseudoBoxHealthHook: the probe file '
                             f'{_where(cfg)} has no image')
        items = [ds[i] for i in range(num)]
        if not any(len(it['data_samples'].gt_instances) for it in items):
            raise ValueError(
                f'DetPseudoBoxHealthHook: the probe images of {_where(cfg)} '
                'hold no boxes; point probe.ann_file at held-back boxes of '
                'unlabelled images, or set probe=None')
        bs = int(self.probe_cfg.get('batch_size', 8))
        self._probe = [
            pseudo_collate(items[i:i + bs]) for i in range(0, num, bs)
        ]

    @torch.no_grad()
    def probe_figures(self, model) -> Dict[str, float]:
        """Teacher boxes above the threshold on the probe images: per
        image, and their precision / recall against the held-back boxes."""
        thr = self._thr(model)
        preds = tp = gts = images = 0
        teacher = model.teacher
        for batch in self._probe:
            data = model.data_preprocessor(batch, False)
            results = teacher.predict(
                data['inputs'], data['data_samples'], rescale=False)
            for res, sample in zip(results, data['data_samples']):
                keep = res.pred_instances.scores >= thr
                boxes = res.pred_instances.bboxes[keep].cpu()
                labels = res.pred_instances.labels[keep].cpu()
                gt = sample.gt_instances
                tp += box_match(boxes, labels, gt.bboxes.cpu(),
                                gt.labels.cpu(), self.iou_thr)
                preds += len(boxes)
                gts += len(gt)
                images += 1
        return dict(
            probe_boxes=preds / images,
            gt_boxes=gts / images,
            box_precision=tp / preds if preds else float('nan'),
            box_recall=tp / gts if gts else float('nan'))

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if (runner.iter + 1) % self.interval:
            return
        model = unwrap(runner.model)
        fig: Dict[str, float] = {}
        history = runner.message_hub.log_scalars.get(
            'train/unsup.pseudo_boxes')
        if history is not None:
            values = history.data[0][-self.interval:]
            if len(values):
                fig['pseudo_boxes'] = float(values.mean())
        if self._probe:
            fig.update(self.probe_figures(model))
        if not fig:
            return
        step = runner.iter + 1
        runner.visualizer.add_scalars(
            {f'health/{k}': v for k, v in fig.items() if v == v}, step=step)
        self.history.append(dict(fig, iter=step))
        text = ', '.join(f'{k} {v:.3g}' for k, v in fig.items())
        print_log(f'DetPseudoBoxHealthHook: iteration {step}: {text}',
                  logger='current')
        boxes = fig.get('pseudo_boxes', fig.get('probe_boxes'))
        burn_in = getattr(model, 'semi_train_cfg', {}).get('burn_in_iters', 0)
        if step <= burn_in:  # supervised only so far: nothing to judge
            boxes = None
        if boxes is not None and boxes < self.min_boxes:
            self._collapsed += 1
        else:
            self._collapsed = 0
        if self._collapsed >= self.patience:
            msg = (f'DetPseudoBoxHealthHook: the teacher has produced under '
                   f'{self.min_boxes:g} pseudo-boxes per unlabelled image '
                   f'for {self._collapsed} intervals (iteration {step}: '
                   f'{text}): the unsupervised losses learn only background.'
                   ' Lower the score thresholds (semi_train_cfg.'
                   'pseudo_label_initial_score_thr / cls_pseudo_thr), '
                   'train longer on the labelled images first, or check the '
                   'teacher (EMA momentum)')
            if self.stop:
                raise PseudoBoxCollapseError(msg)
            print_log(msg, logger='current', level=logging.WARNING)
