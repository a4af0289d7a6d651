"""GCT: Guided Collaborative Training (Ke et al., ECCV 2020).

Two task models T1, T2 learn from each other under the guidance of a flaw
detector F that looks at an image and a prediction and regresses where the
prediction is wrong (the paper; PixelSSL
``pixelssl/ssl_algorithm/ssl_gct.py``). One training iteration:

(a) task step (optimiser ``task``, F frozen)
    1. each task model runs once over labelled + unlabelled images:
       supervised loss on the labelled ones, predictions p_k on all;
    2. flaw maps F(x, p_k), processed (blur, clear, normalise) into the
       guidance maps;
    3. dynamic consistency: where T_k's flaw is larger than the other's
       (flaws > xi count as 1), T_k is pulled towards the other's
       (detached) prediction;
    4. flaw correction: where both flaws exceed xi, F(x, p_k) is pushed to
       0, the gradient flowing through the frozen F into T_k;
    loss = sup + rampup * lambda_dc * sum_k L_dc^k + lambda_fc * sum_k
    L_fc^k (the ramp-up weighs DC only, as PixelSSL's code does);
(b) flaw-detector step (optimiser ``fd``, task models untouched): F learns
    to regress C(.), the blurred, dilated and normalised error of each
    task model's prediction on the labelled images, from the predictions
    of step (a).

Extensions beyond the paper (``semi_train_cfg``, off by default):
``strong_view`` trains the task models on strong, CutMix-ed views of the
unlabelled images, guided by their predictions and flaw maps on the weak
view; ``dc_loss='ce'`` makes DC a cross-entropy towards the other model's
hard prediction (cross pseudo supervision, masked by the flaw maps);
``ema_guidance`` takes that weak-view guidance from EMA copies of the task
models (``ema1``, ``ema2``, kept by two ``EMATeacherHook``) instead of the
models being trained.
"""
import copy
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.optim import OptimWrapperDict
from mmseg.utils import add_prefix
from torch import Tensor

from semiseg_mm.registry import MODELS
from ..losses.consistency import masked_cross_entropy
from ..losses.gct import (dynamic_consistency_loss,
                          dynamic_consistency_masks, flaw_correction_loss,
                          flaw_correction_mask, flaw_detector_loss,
                          flaw_distance, flaw_target_from_distance,
                          process_flaw_map)
from ..utils import cutmix_batch, full_res_logits, joint_forward, valid_mask
from ..utils.params import call_through_wrapper, frozen_params
from ..wrappers import unwrap
from .ensemble import (ensemble_encode_decode, ensemble_forward,
                       ensemble_predict)
from .multi_optim import MultiOptimMixin, OptimStep
from .semi_base import SampleList, SemiBaseSegmentor

TASK_TYPES = ('segmentation', 'regression')
#: ``semi_train_cfg`` keys and their defaults (the paper / PixelSSL);
#: ``crop_size`` has none and must be given
DEFAULTS = dict(
    xi=0.6,
    lambda_dc=100.0,
    lambda_fc=1.0,
    fd_weight=10.0,
    clear_threshold=0.1,
    task_type='segmentation',
    fd_target_blur_divisor=8,
    fd_target_reblur_divisor=4,
    fd_target_dilations=1,
    flaw_map_blur_divisor=16,
    rampup=None,
    sup_weight=1.0,
    strong_view=False,
    dc_loss='mse',
    ema_guidance=False,
)
DC_LOSSES = ('mse', 'ce')
#: ``predict_on='ensemble'``: the plain mean of the two task models
ENSEMBLE_WEIGHTS = (0.5, 0.5)


class FlawDetectorBatch(NamedTuple):
    """What the flaw-detector step needs from the task step."""
    images: Tensor  # (N_l + N_u, 3, H, W), labelled first
    preds: Tuple[Tensor, Tensor]  # detached p_1, p_2 on every image
    targets: Tuple[Tensor, Tensor]  # C(.) of p_1, p_2, labelled only
    num_labeled: int


@MODELS.register_module()
class GCT(MultiOptimMixin, SemiBaseSegmentor):
    """Guided Collaborative Training: two task models and a flaw detector.

    Training goes through :meth:`train_step`, which makes the two
    optimiser steps of an iteration and needs an ``OptimWrapperDict`` with
    entries ``task`` (``model1`` + ``model2``) and ``fd``
    (``flaw_detector``), e.g. from ``MultiOptimWrapperConstructor``.
    :meth:`loss` computes the task step's losses only (for
    ``mode='loss'`` and tools such as ``tools/visualize_semi.py``).
    Distributed runs wrap each sub-model in its own DDP
    (``model_wrapper_cfg = dict(type='SeparateDistributedDataParallel')``);
    the task models' passes go through their wrappers' ``forward`` so that
    gradients are synchronised. DC and FC count image pixels only, not the
    data preprocessor's padding.

    Args:
        segmentor: mmseg segmentor config of task model 1 (``model1``).
        segmentor2: config of task model 2 (``model2``); default a copy of
            ``segmentor``. The two models are built separately, so their
            randomly initialised layers differ; identical architectures
            must start from different initialisations (GCT relies on their
            disagreement), so do not load the same weights into both
            heads. They may differ in architecture (DeepLabv2 + PSPNet) but
            must have the same number of outputs.
        flaw_detector: flaw detector config (default
            ``dict(type='FlawDetector')``); ``in_channels`` defaults to
            ``3 + outputs of the task models``.
        semi_train_cfg: hyperparameters (defaults from the paper and
            PixelSSL's VOC script):

            - ``crop_size`` (required): the training crop size that sets
              the blur kernels ``int(crop / d)`` made odd; an int or an
              (h, w) pair, whose smaller side is used;
            - ``xi`` (0.6): DC/FC flaw threshold;
            - ``lambda_dc`` (100), ``lambda_fc`` (1): DC and FC weights;
            - ``rampup``: ``dict(kind='sigmoid', rampup_iters=...,
              start_iters=...)`` applied to DC (PixelSSL: 3 epochs of
              the unlabelled set); None = constant 1. FC is not ramped
              (PixelSSL); during a ``start_iters`` warm-up (weight 0) the
              task models learn from labels only;
            - ``fd_weight`` (10): flaw-detector loss weight;
            - ``clear_threshold`` (0.1): a processed flaw map whose blurred
              maximum is <= this becomes all zero;
            - ``fd_target_blur_divisor`` (8), ``fd_target_reblur_divisor``
              (4), ``fd_target_dilations`` (1), ``flaw_map_blur_divisor``
              (16): the kernel divisors and dilation count of C(.) and of
              the flaw-map processing;
            - ``task_type``: ``'segmentation'`` (softmax predictions, the
              segmentor's own losses, flaw ``1 - p_y``) or ``'regression'``
              (raw outputs as predictions, MSE to the float ``gt_target``
              (O, H, W) of each data sample, flaw = mean absolute error
              over channels, e.g. GCT's denoising);
            - ``sup_weight`` (1): weight of the supervised losses;
            - ``strong_view`` (False; an extension, not in the paper): the
              unlabelled images come as a weak view (``unsup_teacher``) and
              a strong, CutMix-boxed view (``unsup_student``, the
              FixMatch pipeline of ``semi_views.py``). Predictions and
              flaw maps on the weak view (no gradient, task models in eval
              mode) set the DC/FC masks and DC targets, CutMix-ed like the
              strong images; each task model learns on the strong view and
              FC pushes F(strong view, its prediction) to 0. Labelled
              images are handled as in the paper;
            - ``dc_loss`` (``'mse'``, the paper; or ``'ce'``, an extension):
              ``'ce'`` replaces DC's MSE towards the other model's
              probabilities by cross-entropy towards its argmax (hard
              pseudo-labels, as in cross pseudo supervision), on the same
              masked pixels, normalised by all image pixels
              (segmentation only);
            - ``ema_guidance`` (False; an extension, needs ``strong_view``):
              build ``ema1`` and ``ema2``, frozen copies of the task models
              that the config keeps as their EMAs (``custom_hooks``: one
              ``EMATeacherHook(student='model1', teacher='ema1')`` and one
              for ``model2``/``ema2``); the weak-view predictions and flaw
              maps then come from them, so each model learns from a slowly
              moving average of the other, as FixMatch's student does from
              its EMA teacher. They can also predict (``predict_on``).
        semi_test_cfg: ``predict_on``: ``'model1'`` (default; the paper
            does not say which model PixelSSL reports), ``'model2'`` or
            ``'ensemble'`` (mean of the two models' predictions); with
            ``ema_guidance`` also ``'ema1'`` or ``'ema2'``.
        data_preprocessor: ``mmdet.MultiBranchDataPreprocessor``; the
            batch has branches ``sup`` (labelled) and ``unsup``.
    """
    #: branches with one unlabelled view; ``strong_view=True`` reads
    #: ``('sup', 'unsup_teacher', 'unsup_student')`` instead
    train_branches = ('sup', 'unsup')
    semi_train_keys = tuple(DEFAULTS) + ('crop_size', )

    def __init__(self,
                 segmentor: dict,
                 segmentor2: Optional[dict] = None,
                 flaw_detector: Optional[dict] = None,
                 semi_train_cfg: Optional[dict] = None,
                 semi_test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        cfg = self._check_train_cfg(semi_train_cfg)
        super().__init__((segmentor, segmentor2, cfg['ema_guidance']),
                         semi_train_cfg=cfg,
                         semi_test_cfg=semi_test_cfg,
                         data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg,
                         with_teacher=False)
        self.task_type = cfg['task_type']
        # DatasetCheckHook compares num_classes with the dataset's classes
        self.predicts_classes = self.task_type == 'segmentation'
        self.crop_size = cfg['crop_size']
        self.xi = cfg['xi']
        self.lambda_dc = cfg['lambda_dc']
        self.lambda_fc = cfg['lambda_fc']
        self.fd_weight = cfg['fd_weight']
        self.clear_threshold = cfg['clear_threshold']
        self.strong_view = cfg['strong_view']
        self.dc_loss = cfg['dc_loss']
        if self.strong_view:
            self.train_branches = ('sup', 'unsup_teacher', 'unsup_student')
        head1 = self.model1.decode_head
        self.num_outputs = head1.out_channels
        self.ignore_index = head1.ignore_index
        out2 = self.model2.decode_head.out_channels
        if out2 != self.num_outputs:
            raise ValueError(
                f'GCT: segmentor2 has {out2} outputs but segmentor has '
                f'{self.num_outputs}; both task models must predict the same '
                'classes/channels')
        if self.task_type == 'segmentation' and self.num_outputs < 2:
            raise ValueError(
                'GCT segmentation needs one output channel per class '
                '(decode_head.out_channels >= 2), got 1')
        fd_cfg = dict(flaw_detector or dict(type='FlawDetector'))
        fd_cfg.setdefault('in_channels', 3 + self.num_outputs)
        if fd_cfg['in_channels'] != 3 + self.num_outputs:
            raise ValueError(
                f"GCT: flaw_detector.in_channels={fd_cfg['in_channels']}, "
                f'but the detector sees an RGB image + {self.num_outputs} '
                f'task outputs = {3 + self.num_outputs} channels (leave it '
                'unset to have it filled in)')
        self.flaw_detector = MODELS.build(fd_cfg)

    @classmethod
    def unknown_keys_hint(cls, unknown: List[str]) -> str:
        return (' (GCT weights its unsupervised losses with lambda_dc / '
                'lambda_fc)' if 'unsup_weight' in unknown else '')

    @classmethod
    def _check_train_cfg(cls, semi_train_cfg: Optional[dict]) -> dict:
        """Defaults filled in, every value checked, unknown keys refused."""
        given = dict(semi_train_cfg or {})
        cls.check_train_keys(given)
        if 'crop_size' not in given:
            raise ValueError(
                'GCT needs semi_train_cfg.crop_size (the training crop, e.g. '
                '321): it sets the blur kernels of the flaw maps')
        cfg = {**DEFAULTS, **given}
        crop = cfg['crop_size']
        if isinstance(crop, (list, tuple)):
            if len(crop) != 2:
                raise ValueError('semi_train_cfg.crop_size must be an int or '
                                 f'an (h, w) pair, got {crop!r}')
            crop = min(crop)
        if not isinstance(crop, int) or crop <= 0:
            raise ValueError('semi_train_cfg.crop_size must be a positive '
                             f"int or (h, w) pair, got {cfg['crop_size']!r}")
        cfg['crop_size'] = crop
        if cfg['task_type'] not in TASK_TYPES:
            raise ValueError(f'semi_train_cfg.task_type must be one of '
                             f"{TASK_TYPES}, got {cfg['task_type']!r}")
        if cfg['dc_loss'] not in DC_LOSSES:
            raise ValueError(f'semi_train_cfg.dc_loss must be one of '
                             f"{DC_LOSSES}, got {cfg['dc_loss']!r}")
        if cfg['dc_loss'] == 'ce' and cfg['task_type'] != 'segmentation':
            raise ValueError(
                "semi_train_cfg.dc_loss='ce' needs class predictions "
                "(task_type='segmentation'); regression uses 'mse'")
        for key in ('strong_view', 'ema_guidance'):
            if not isinstance(cfg[key], bool):
                raise ValueError(f'semi_train_cfg.{key} must be True or '
                                 f'False, got {cfg[key]!r}')
        if cfg['ema_guidance'] and not cfg['strong_view']:
            raise ValueError(
                'semi_train_cfg.ema_guidance=True sets where the weak-view '
                'guidance comes from and needs strong_view=True')
        if not 0.0 <= cfg['xi'] <= 1.0:
            raise ValueError(
                f"semi_train_cfg.xi must be in [0, 1], got {cfg['xi']}")
        for key in ('lambda_dc', 'lambda_fc', 'fd_weight', 'clear_threshold',
                    'sup_weight'):
            if cfg[key] < 0:
                raise ValueError(
                    f'semi_train_cfg.{key} must be >= 0, got {cfg[key]}')
            cfg[key] = float(cfg[key])
        for key in ('fd_target_blur_divisor', 'fd_target_reblur_divisor',
                    'flaw_map_blur_divisor', 'fd_target_dilations'):
            low = 0 if key == 'fd_target_dilations' else 1
            if not isinstance(cfg[key], int) or cfg[key] < low:
                raise ValueError(f'semi_train_cfg.{key} must be an int >= '
                                 f'{low}, got {cfg[key]!r}')
        return cfg

    # ------------------------------------------------------------------ #
    # sub-models and prediction
    # ------------------------------------------------------------------ #
    def build_sub_models(self,
                         segmentors: Tuple[dict, Optional[dict], bool]
                         ) -> Tuple[str, ...]:
        """``model1`` and ``model2``, built separately (different random
        initialisations even from the same config); with ``ema_guidance``
        also their frozen copies ``ema1`` and ``ema2`` (EMATeacherHook
        copies the models into them before the first step and averages
        them after each)."""
        segmentor, segmentor2, self.ema_guidance = segmentors
        self._own_segmentor2 = segmentor2 is not None
        self.model1 = MODELS.build(copy.deepcopy(segmentor))
        self.model2 = MODELS.build(
            copy.deepcopy(segmentor if segmentor2 is None else segmentor2))
        if not self.ema_guidance:
            return ('model1', 'model2')
        self.ema1 = copy.deepcopy(self.model1)
        self.ema2 = copy.deepcopy(self.model2)
        self.freeze(self.ema1)
        self.freeze(self.ema2)
        return ('model1', 'model2', 'ema1', 'ema2')

    def default_predict_on(self) -> str:
        return 'model1'

    def sub_model_config_key(self, name: str) -> str:
        if name in ('model2', 'ema2') and self._own_segmentor2:
            return 'segmentor2'
        return 'segmentor'

    @property
    def predict_branches(self) -> Tuple[str, ...]:
        emas = ('ema1', 'ema2') if self.ema_guidance else ()
        return ('model1', 'model2', 'ensemble') + emas

    @property
    def num_classes(self) -> int:
        return self.num_outputs

    def predict_model(self) -> nn.Module:
        """The task model named by ``predict_on`` (outside any wrapper)."""
        name = self.semi_test_cfg.get('predict_on')
        self._check_predict_on(name)
        if name == 'ensemble':
            raise ValueError(
                "GCT: semi_test_cfg.predict_on='ensemble' combines the two "
                'models\' predictions; this operation needs a single model '
                "('model1' or 'model2')")
        return unwrap(getattr(self, name))

    def _ensembling(self) -> bool:
        name = self.semi_test_cfg.get('predict_on')
        self._check_predict_on(name)
        return name == 'ensemble'

    def task_models(self) -> Tuple[nn.Module, nn.Module]:
        return unwrap(self.model1), unwrap(self.model2)

    def guide_models(self) -> Tuple[nn.Module, nn.Module]:
        """The models whose weak-view predictions guide (``strong_view``):
        the EMA copies with ``ema_guidance``, else the task models."""
        if self.ema_guidance:
            return self.ema1, self.ema2
        return self.task_models()

    def predict(self,
                inputs: Tensor,
                data_samples: Optional[SampleList] = None) -> SampleList:
        """mmseg's ``predict`` of the chosen model; for ``'ensemble'`` the
        mean of both models' predictions (softmax probabilities for
        segmentation, stored as ``seg_logits``) post-processed by model 1.
        """
        if not self._ensembling():
            return self.predict_model().predict(inputs, data_samples)
        return ensemble_predict(self.task_models(), ENSEMBLE_WEIGHTS, inputs,
                                data_samples, self.predictions)

    def _forward(self,
                 inputs: Tensor,
                 data_samples: Optional[SampleList] = None) -> Tensor:
        """Raw decode-head output of the chosen model; for ``'ensemble'``
        the mean prediction of both at the input resolution (their heads'
        output sizes may differ)."""
        if not self._ensembling():
            return self.predict_model()._forward(inputs, data_samples)
        return ensemble_forward(self.task_models(), ENSEMBLE_WEIGHTS, inputs,
                                self.predictions)

    def encode_decode(self, inputs: Tensor,
                      batch_data_samples: SampleList) -> Tensor:
        if not self._ensembling():
            return self.predict_model().encode_decode(inputs,
                                                      batch_data_samples)
        return ensemble_encode_decode(self.task_models(), ENSEMBLE_WEIGHTS,
                                      inputs, batch_data_samples,
                                      self.predictions)

    # ------------------------------------------------------------------ #
    # the task-specific pieces (segmentation or pixel regression)
    # ------------------------------------------------------------------ #
    def predictions(self, outputs: Tensor) -> Tensor:
        """What the flaw detector and DC see: softmax probabilities for
        segmentation, the raw outputs for regression."""
        if self.task_type == 'segmentation':
            return outputs.softmax(dim=1)
        return outputs

    def _forward_task(self, model: nn.Module, x_l: Tensor, s_l: SampleList,
                      x_u: Tensor) -> Tuple[dict, Tensor, Tensor]:
        """One pass over labelled + unlabelled images: (supervised losses,
        full-resolution outputs of the labelled, of the unlabelled)."""
        if self.task_type == 'segmentation':
            losses, (out_l, out_u) = joint_forward(
                model, x_l, s_l, [x_u], return_sup_logits=True)
            return losses, out_l, out_u
        if x_l.shape[-2:] == x_u.shape[-2:]:
            out_l, out_u = full_res_logits(model, torch.cat(
                (x_l, x_u))).split((len(x_l), len(x_u)))
        else:
            out_l = full_res_logits(model, x_l)
            out_u = full_res_logits(model, x_u)
        return self.supervised_loss(out_l, s_l), out_l, out_u

    def supervised_loss(self, outputs_l: Tensor, s_l: SampleList) -> dict:
        """Regression: MSE between the outputs on labelled images and their
        ``gt_target``. (Segmentation uses the segmentor's own head losses,
        computed inside :func:`joint_forward`.)"""
        return dict(loss_mse=F.mse_loss(outputs_l,
                                        self.targets(s_l, outputs_l)))

    def targets(self, samples: SampleList, like: Tensor) -> Tensor:
        """Ground truth of labelled samples: (N, H, W) labels
        (segmentation) or (N, O, H, W) float targets (regression)."""
        if self.task_type == 'segmentation':
            return torch.stack([s.gt_sem_seg.data[0] for s in samples
                                ]).to(like.device)
        missing = [i for i, s in enumerate(samples) if 'gt_target' not in s]
        if missing:
            raise KeyError(
                "GCT with task_type='regression' needs a float 'gt_target' "
                '(PixelData, (O, H, W)) in every labelled data sample; '
                f'samples {missing} have none')
        target = torch.stack([s.gt_target.data for s in samples]).to(
            device=like.device, dtype=like.dtype)
        if target.shape != like.shape:
            raise ValueError(
                f'gt_target batch {tuple(target.shape)} does not match the '
                f'task outputs {tuple(like.shape)} (O = decode_head '
                'num_classes, same size as the padded input)')
        return target

    def flaw_distance(self, preds_l: Tensor, samples: SampleList) -> Tensor:
        """Un-blurred flaw (N, 1, H, W) of predictions on labelled images:
        ``0.5 * sum_c |onehot(y) - p|`` (= 1 - p_y, 0.5 on ignored pixels)
        for segmentation, the mean absolute error over channels for
        regression."""
        target = self.targets(samples, preds_l)
        if self.task_type == 'segmentation':
            return flaw_distance(preds_l, target, self.ignore_index)
        return (preds_l - target).abs().mean(dim=1, keepdim=True)

    def flaw_target(self, preds_l: Tensor, samples: SampleList) -> Tensor:
        """The flaw detector's ground truth C(.) (no gradient)."""
        cfg = self.semi_train_cfg
        with torch.no_grad():
            return flaw_target_from_distance(
                self.flaw_distance(preds_l.detach(), samples),
                self.crop_size, cfg.fd_target_blur_divisor,
                cfg.fd_target_reblur_divisor, cfg.fd_target_dilations)

    # ------------------------------------------------------------------ #
    # (a) the task models' step
    # ------------------------------------------------------------------ #
    def detect_flaws(self, images: Tensor, preds: Tensor) -> Tensor:
        """F(x, p) with the detector's parameters frozen, called on the
        bare module (not a DDP wrapper): gradients reach ``preds`` only."""
        with frozen_params(self.flaw_detector):
            return unwrap(self.flaw_detector)(images, preds)

    @torch.no_grad()
    def weak_guidance(self, x_w: Tensor) -> Tuple[List[Tensor], List[Tensor]]:
        """``strong_view``: each task model's (or with ``ema_guidance`` its
        EMA's) prediction on the weak view (eval mode, no gradient) and its
        processed flaw map."""
        preds = []
        for model in self.guide_models():
            was_training = model.training
            model.eval()
            try:
                preds.append(self.predictions(full_res_logits(model, x_w)))
            finally:
                model.train(was_training)
        maps = [
            process_flaw_map(
                self.detect_flaws(x_w, p), self.crop_size,
                self.clear_threshold,
                self.semi_train_cfg.flaw_map_blur_divisor) for p in preds
        ]
        return preds, maps

    def unlabeled_views(
        self, multi_inputs: Dict[str, Tensor],
        multi_data_samples: Dict[str, SampleList], guide: bool
    ) -> Tuple[Tensor, Tensor, Optional[Tuple[List[Tensor], List[Tensor]]]]:
        """The unlabelled images the task models train on, their (N, H, W)
        padding mask, and for ``strong_view`` the weak-view guidance
        (predictions, flaw maps; only if ``guide``), all CutMix-ed with the
        strong views' boxes."""
        if not self.strong_view:
            x_u, s_u = multi_inputs['unsup'], multi_data_samples['unsup']
            return x_u, valid_mask(s_u, x_u.shape[-2:], x_u.device), None
        x_u = multi_inputs['unsup_student']
        s_u = multi_data_samples['unsup_student']
        valid = valid_mask(s_u, x_u.shape[-2:], x_u.device)
        if not guide:
            x_u, valid = cutmix_batch(s_u, (x_u, valid))
            return x_u, valid, None
        preds_w, maps_w = self.weak_guidance(multi_inputs['unsup_teacher'])
        x_u, valid, *mixed = cutmix_batch(s_u,
                                          (x_u, valid, *preds_w, *maps_w))
        return x_u, valid, (mixed[:2], mixed[2:])

    def dc_loss_of(self, logits: Tensor, preds: Tensor, target: Tensor,
                   mask: Tensor, valid: Tensor) -> Tensor:
        """Dynamic consistency of one model towards ``target`` (the other
        model's detached prediction) on ``mask``: the paper's MSE of
        probabilities, or CE towards the target's argmax (``dc_loss``)."""
        if self.dc_loss == 'mse':
            return dynamic_consistency_loss(preds, target, mask)
        return masked_cross_entropy(logits, target.max(dim=1).indices,
                                    mask[:, 0] > 0, valid[:, 0] > 0)

    def task_losses(
        self, multi_inputs: Dict[str, Tensor],
        multi_data_samples: Dict[str, SampleList]
    ) -> Tuple[dict, FlawDetectorBatch]:
        """Losses of the task step and the detector step's inputs."""
        self.check_batch(multi_inputs, multi_data_samples)
        x_l, s_l = multi_inputs['sup'], multi_data_samples['sup']
        n_l = len(x_l)
        weight = self.unsup_rampup()
        x_u, valid_u, weak = self.unlabeled_views(multi_inputs,
                                                  multi_data_samples,
                                                  guide=weight > 0)
        losses, logits, preds = {}, [], []
        # 1. supervised losses and predictions, one pass per model
        for name in ('model1', 'model2'):
            sup, out_l, out_u = call_through_wrapper(
                getattr(self, name), self._forward_task, x_l, s_l, x_u)
            losses.update(self.sup_losses(add_prefix(sup, name)))
            logits.append(torch.cat((out_l, out_u)))
            preds.append(self.predictions(logits[-1]))
        images = torch.cat((x_l, x_u))
        fd_batch = FlawDetectorBatch(
            images=images,
            preds=tuple(p.detach() for p in preds),
            targets=tuple(self.flaw_target(p[:n_l], s_l) for p in preds),
            num_labeled=n_l)
        if weight == 0:  # warm-up: the detector learns, the models only sup
            return losses, fd_batch

        # 2. flaw maps of both models (gradients flow into the models)
        flaws = [self.detect_flaws(images, p) for p in preds]
        with torch.no_grad():
            maps = [
                process_flaw_map(f.detach(), self.crop_size,
                                 self.clear_threshold,
                                 self.semi_train_cfg.flaw_map_blur_divisor)
                for f in flaws
            ]
        # what each model learns from: the other's prediction on the same
        # image, or (strong_view) on the weak view of the unlabelled ones,
        # whose flaw maps then decide
        targets = [preds[1].detach(), preds[0].detach()]
        if weak is not None:
            preds_w, maps_w = weak
            maps = [torch.cat((m[:n_l], w)) for m, w in zip(maps, maps_w)]
            targets = [
                torch.cat((t[:n_l], w))
                for t, w in zip(targets, (preds_w[1], preds_w[0]))
            ]
        valid = torch.cat((valid_mask(s_l, x_l.shape[-2:], x_l.device),
                           valid_u)).unsqueeze(1).to(images.dtype)
        # 3. dynamic consistency: learn from the less flawed model
        dc1, dc2 = (m * valid for m in dynamic_consistency_masks(
            maps[0], maps[1], self.xi))
        # 4. flaw correction where both models are flawed
        fc = flaw_correction_mask(maps[0], maps[1], self.xi) * valid
        # PixelSSL ramps DC only; FC has its full weight from the start
        wdc, wfc = weight * self.lambda_dc, self.lambda_fc
        for k, dc in enumerate((dc1, dc2)):
            losses[f'unsup.loss_dc{k + 1}'] = wdc * self.dc_loss_of(
                logits[k], preds[k], targets[k], dc, valid)
        losses['unsup.loss_fc1'] = wfc * flaw_correction_loss(flaws[0], fc)
        losses['unsup.loss_fc2'] = wfc * flaw_correction_loss(flaws[1], fc)
        with torch.no_grad():
            pixels = valid.sum().clamp(min=1)
            losses['unsup.dc1_ratio'] = dc1.sum() / pixels
            losses['unsup.dc2_ratio'] = dc2.sum() / pixels
            losses['unsup.fc_ratio'] = fc.sum() / pixels
        losses['unsup.weight'] = images.new_tensor(weight)
        if self.vis_request:
            self._record(fd_batch, maps, (dc1, dc2), fc)
        return losses, fd_batch

    def _record(self, fd_batch: FlawDetectorBatch, maps: Sequence[Tensor],
                dc: Sequence[Tensor], fc: Tensor) -> None:
        """Pictures for the visualisation hook, labelled and unlabelled
        images alternating (the first rows show both kinds); the error map
        C(.) exists for labelled images only (NaN, drawn grey, elsewhere).
        """
        n, n_l = len(fd_batch.images), fd_batch.num_labeled
        order = _interleave(n_l, n - n_l, fd_batch.images.device)

        def labelled_only(t: Tensor) -> Tensor:
            full = t.new_full((n, ) + t.shape[1:], float('nan'))
            full[:n_l] = t
            return full

        seg = self.task_type == 'segmentation'
        tensors = dict(
            image=fd_batch.images,
            model1_probs=fd_batch.preds[0] if seg else None,
            model2_probs=fd_batch.preds[1] if seg else None,
            model1_flaw=maps[0],
            model2_flaw=maps[1],
            model1_dc=dc[0][:, 0].bool(),
            model2_dc=dc[1][:, 0].bool(),
            fc=fc[:, 0].bool(),
            model1_error=labelled_only(fd_batch.targets[0]),
            model2_error=labelled_only(fd_batch.targets[1]))
        self.record_vis(**{
            k: v[order]
            for k, v in tensors.items() if v is not None
        })

    def loss(self, multi_inputs: Dict[str, Tensor],
             multi_data_samples: Dict[str, SampleList]) -> dict:
        """The task step's losses (``sup.*``, ``unsup.*``). Training runs
        :meth:`train_step`, which also trains the flaw detector."""
        return self.task_losses(multi_inputs, multi_data_samples)[0]

    # ------------------------------------------------------------------ #
    # (b) the flaw detector's step
    # ------------------------------------------------------------------ #
    def flaw_detector_losses(self, batch: FlawDetectorBatch) -> dict:
        """``fd_weight`` x MSE(F(x, p_k), C_k) on labelled images, averaged
        over the two task models.

        F runs on every image of the batch, through its (DDP) wrapper so
        that its gradients are synchronised, and with the same batch
        composition as when it guides the task models (its BatchNorm sees
        the same statistics); only labelled rows have a target.
        """
        n_l = batch.num_labeled
        mses = [
            flaw_detector_loss(self.flaw_detector(batch.images, p)[:n_l], t)
            for p, t in zip(batch.preds, batch.targets)
        ]
        return {
            'fd.loss_fd': self.fd_weight * 0.5 * (mses[0] + mses[1]),
            'fd.mse1': mses[0].detach(),
            'fd.mse2': mses[1].detach(),
        }

    # ------------------------------------------------------------------ #
    # one iteration: two optimiser steps (MultiOptimMixin.train_step)
    # ------------------------------------------------------------------ #
    def optim_steps(self) -> Tuple[OptimStep, OptimStep]:
        """(a) the task models, the detector frozen; (b) the detector on
        the predictions of (a)."""
        return (OptimStep('task', self._task_step_losses,
                          frozen=('flaw_detector', )),
                OptimStep('fd', self._fd_step_losses))

    def optim_wrapper_hint(self) -> str:
        return ("'task' with modules=['model1', 'model2'] and 'fd' with "
                "modules='flaw_detector', built with "
                "constructor='MultiOptimWrapperConstructor'")

    def _task_step_losses(self, batch: dict, carry: dict) -> dict:
        losses, carry['fd_batch'] = self.task_losses(batch['inputs'],
                                                     batch['data_samples'])
        return losses

    def _fd_step_losses(self, batch: Optional[dict], carry: dict) -> dict:
        return self.flaw_detector_losses(carry['fd_batch'])

    def task_step(self, data: Union[dict, tuple, list],
                  optim_wrapper: OptimWrapperDict
                  ) -> Tuple[Dict[str, Tensor], FlawDetectorBatch]:
        """Step (a) alone on a raw batch: update both task models; returns
        their log variables and the detector step's inputs."""
        carry: dict = {}
        log_vars = self.run_optim_step(
            self.optim_steps()[0], self.data_preprocessor(data, True), carry,
            optim_wrapper)
        return log_vars, carry['fd_batch']

    def flaw_detector_step(self, fd_batch: FlawDetectorBatch,
                           optim_wrapper: OptimWrapperDict
                           ) -> Dict[str, Tensor]:
        """Step (b) alone: update the flaw detector on the task step's
        predictions; the task models are not run."""
        return self.run_optim_step(
            self.optim_steps()[1], None, {'fd_batch': fd_batch},
            optim_wrapper, keep_total=False)


def _interleave(n_a: int, n_b: int, device: torch.device) -> Tensor:
    """Indices a0, b0, a1, b1, ... of rows ``[a..., b...]``, the longer
    group's remainder last."""
    a = list(range(n_a))
    b = list(range(n_a, n_a + n_b))
    order: List[int] = []
    for i in range(max(n_a, n_b)):
        order += a[i:i + 1] + b[i:i + 1]
    return torch.tensor(order, dtype=torch.long, device=device)
