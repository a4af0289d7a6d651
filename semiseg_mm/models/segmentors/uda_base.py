"""Base of unsupervised domain adaptation segmentors.

A UDA segmentor trains one mmseg segmentor (``segmentor``) on labelled
source images and unlabelled target images. The batch comes from
``UDADataset`` + ``SemiSourceSampler`` through ``mmdet.MultiBranch`` with
the branches ``source`` and ``target``::

    inputs       = {'source': (N_s, 3, H_s, W_s), 'target': (N_t, 3, ...)}
    data_samples = {'source': [...with gt_sem_seg], 'target': [...]}

Its ``loss()`` is a short template (:meth:`UDABaseSegmentor.segmenter_losses`):

1. the segmentor runs over the source and the target images, returning
   the logits of every output level it needs (the main DeepLabv2 head on
   conv5, ``decode``, and the auxiliary one on conv4, ``aux``) at input
   resolution; the source images also give mmseg's own losses of every
   head (their ``loss_weight``, e.g. 0.1 for the auxiliary head, is
   AdaptSegNet's lambda_seg);
   (:meth:`student_target_inputs` may first replace the target images
   the segmentor sees: DACS's source-target mixes);
2. :meth:`target_losses`, the method's hook: MinEnt's entropy, the
   adversarial terms of AdaptSegNet/AdvEnt, DACS's pseudo-label CE;
3. the optional class-ratio prior on the target predictions
   (``uda_cfg.class_prior``, every method).

Methods with discriminators add a second optimiser step
(:class:`~.adversarial.AdversarialUDASegmentor`); self-training methods set
:attr:`UDABaseSegmentor.uses_teacher` and get an EMA ``teacher`` copy of the
segmentor (updated by ``EMATeacherHook(student='segmentor')``) and a
``pseudo_label_filter``. Prediction uses the
segmentor (its main head), so checkpoints evaluate on the target val set
like any mmseg model, and a plain mmseg checkpoint (ImageNet-initialised
or source-only) loads into ``segmentor``.
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmseg.utils import add_prefix
from torch import Tensor

from semiseg_mm.registry import MODELS
from ..losses.uda import (class_ratio_prior_loss, entropy_map,
                          load_class_stats)
from ..utils import call_through_wrapper, valid_mask
from ..utils.forward import PartOutputs, forward_parts, output_heads
from ..wrappers import unwrap
from .semi_base import SampleList, SemiBaseSegmentor

PRIOR_KEYS = ('file', 'mu', 'weight', 'classes')


def multi_branch_preprocessor(cfg: Optional[dict],
                              segmentor: dict) -> Optional[dict]:
    """``cfg`` if it is a ``MultiBranchDataPreprocessor`` config, else that
    wrapper around ``cfg`` (or, for ``None``, around the segmentor's own
    ``data_preprocessor``)."""
    if cfg is None:
        cfg = segmentor.get('data_preprocessor')
        if cfg is None:
            return None
    kind = cfg.get('type') if isinstance(cfg, dict) else type(cfg)
    name = kind if isinstance(kind, str) else getattr(kind, '__name__', '')
    if name.split('.')[-1] == 'MultiBranchDataPreprocessor' or not isinstance(
            cfg, dict):  # a built module is the caller's choice
        return cfg
    return dict(type='mmdet.MultiBranchDataPreprocessor',
                data_preprocessor=copy.deepcopy(cfg))


class UDABaseSegmentor(SemiBaseSegmentor):
    """Labelled source + unlabelled target around one mmseg segmentor.

    Args:
        segmentor: mmseg ``EncoderDecoder`` config; multi-level methods give
            it an ``auxiliary_head``.
        uda_cfg: the method's hyperparameters; every method takes
            ``class_prior`` (``None``, or ``dict(file=..., mu=0.5,
            weight=...)``: ADVENT's class-ratio prior on the target's main
            predictions, with the source class frequencies of ``file``
            written by ``tools/source_class_stats.py``) and
            ``joint_forward`` (``False``: the source and the target batch
            run through the network separately, as the official codes do,
            so BatchNorm never mixes the domains; ``True`` runs them as one
            batch when their sizes agree).
        semi_test_cfg: ``predict_on`` (``'segmentor'``, or ``'teacher'``
            for methods with a teacher).
        data_preprocessor: ``mmdet.MultiBranchDataPreprocessor``; default
            (``None``): that wrapper around the segmentor's own
            ``data_preprocessor``, so a method config names only
            ``segmentor``. A single-branch preprocessor (such as the
            top-level ``data_preprocessor`` of mmseg-style model bases,
            which MMEngine's runner merges into ``model``) is wrapped the
            same way.
        pseudo_label_filter: for methods with a teacher, which
            pseudo-labelled target pixels count (a registered
            ``PseudoLabelFilter`` config); refused by the others.
    """
    train_branches = ('source', 'target')
    dataset_hint = 'UDADataset'
    train_cfg_name = 'uda_cfg'
    semi_train_keys: Tuple[str, ...] = ('class_prior', 'joint_forward')
    #: the sub-model everything trains and predicts with
    segmentor_name = 'segmentor'
    #: whether the method learns from an EMA teacher (a ``teacher`` copy
    #: of the segmentor)
    uses_teacher = False

    def __init__(self,
                 segmentor: dict,
                 uda_cfg: Optional[dict] = None,
                 semi_test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 pseudo_label_filter: Optional[dict] = None) -> None:
        if pseudo_label_filter is not None and not self.uses_teacher:
            raise ValueError(
                f'{type(self).__name__} learns from no pseudo-labels: '
                'remove model.pseudo_label_filter (self-training methods '
                'such as DACS take one)')
        data_preprocessor = multi_branch_preprocessor(data_preprocessor,
                                                      segmentor)
        super().__init__(
            segmentor,
            semi_train_cfg=uda_cfg,
            semi_test_cfg=semi_test_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg,
            with_teacher=self.uses_teacher,
            pseudo_label_filter=pseudo_label_filter)
        self.uda_cfg = self.semi_train_cfg
        self.joint = bool(self.uda_cfg.get('joint_forward', False))
        self.levels = tuple(output_heads(self.segmentor))
        self.prior = self._build_prior(self.uda_cfg.get('class_prior'))

    # ------------------------------------------------------------------ #
    # configuration
    # ------------------------------------------------------------------ #
    def build_sub_models(self, segmentor: dict) -> Tuple[str, ...]:
        setattr(self, self.segmentor_name,
                MODELS.build(copy.deepcopy(segmentor)))
        if not self.with_teacher:
            return (self.segmentor_name, )
        self.teacher = MODELS.build(copy.deepcopy(segmentor))
        return (self.segmentor_name, 'teacher')

    def default_predict_on(self) -> str:
        return self.segmentor_name

    def sub_model_config_key(self, name: str) -> str:
        return 'segmentor'

    def level_weights(self, key: str, defaults: Dict[str, float]
                      ) -> Dict[str, float]:
        """``uda_cfg[key]``, a ``{level: weight}`` dict over the segmentor's
        output levels (default: ``defaults`` restricted to the levels it
        has); unknown levels and negative weights are refused."""
        given = self.uda_cfg.get(key)
        if given is None:
            return {lv: w for lv, w in defaults.items() if lv in self.levels}
        if not isinstance(given, dict) or not given:
            raise ValueError(
                f'{type(self).__name__}: uda_cfg.{key} must be a non-empty '
                f'dict {{level: weight}} over the levels {self.levels}, got '
                f'{given!r}')
        unknown = [lv for lv in given if lv not in self.levels]
        if unknown:
            raise ValueError(
                f'{type(self).__name__}: uda_cfg.{key} names the level(s) '
                f'{unknown}, but the segmentor has {self.levels} (an '
                "'aux' level needs an auxiliary_head)")
        bad = {lv: w for lv, w in given.items() if float(w) < 0}
        if bad:
            raise ValueError(f'{type(self).__name__}: uda_cfg.{key} weights '
                             f'must be >= 0, got {bad}')
        return {lv: float(w) for lv, w in given.items()}

    def _build_prior(self, cfg: Optional[dict]) -> Optional[dict]:
        if cfg is None:
            return None
        cfg = dict(cfg)
        unknown = sorted(set(cfg) - set(PRIOR_KEYS))
        if unknown or 'file' not in cfg:
            raise ValueError(
                f'{type(self).__name__}: uda_cfg.class_prior must be '
                "dict(file=<source class statistics>, mu=0.5, weight=...), "
                f'got keys {sorted(cfg)}')
        mu = float(cfg.get('mu', 0.5))
        if not 0.0 <= mu <= 1.0:
            raise ValueError('uda_cfg.class_prior.mu must be in [0, 1], got '
                             f'{mu}')
        ratio = load_class_stats(cfg['file'], cfg.get('classes'),
                                 key='uda_cfg.class_prior.file')
        if ratio.numel() != self.num_classes:
            raise ValueError(
                f"uda_cfg.class_prior.file {cfg['file']} holds "
                f'{ratio.numel()} classes, the segmentor predicts '
                f'{self.num_classes}')
        self.register_buffer('source_class_ratio', ratio, persistent=False)
        return dict(mu=mu, weight=float(cfg.get('weight', 1.0)))

    # ------------------------------------------------------------------ #
    # forward helpers
    # ------------------------------------------------------------------ #
    def needed_levels(self) -> Sequence[str]:
        """Output levels whose target (and source) logits the method needs
        besides the main one."""
        return ('decode', )

    def used_levels(self) -> Tuple[str, ...]:
        """The main level and :meth:`needed_levels`, each once."""
        return tuple(dict.fromkeys(('decode', *self.needed_levels())))

    def forward_domains(self, multi_inputs: Dict[str, Tensor],
                        multi_data_samples: Dict[str, SampleList],
                        with_decoder_feats: bool = False
                        ) -> Tuple[PartOutputs, PartOutputs]:
        """The segmentor over the source (with its supervised losses) and
        the target images: every needed level's logits at input
        resolution, through the segmentor's DDP wrapper if it has one."""
        x_s, s_s = multi_inputs['source'], multi_data_samples['source']
        x_t = multi_inputs['target']
        out = call_through_wrapper(
            getattr(self, self.segmentor_name), forward_parts, [x_s, x_t],
            s_s, levels=self.used_levels(),
            with_decoder_feats=with_decoder_feats, concat=self.joint)
        feats = out.decoder_feats or [None, None]
        src = PartOutputs(out.losses,
                          {lv: v[0:1] for lv, v in out.logits.items()},
                          decoder_feats=[feats[0]])
        tgt = PartOutputs({}, {lv: v[1:2] for lv, v in out.logits.items()},
                          decoder_feats=[feats[1]])
        return src, tgt

    # ------------------------------------------------------------------ #
    # the loss template
    # ------------------------------------------------------------------ #
    def loss(self, multi_inputs: Dict[str, Tensor],
             multi_data_samples: Dict[str, SampleList]) -> dict:
        """The segmentor's losses (source supervision + the method's
        target terms)."""
        return self.segmenter_losses(
            dict(inputs=multi_inputs, data_samples=multi_data_samples), {})

    def segmenter_losses(self, batch: dict, carry: dict) -> dict:
        inputs, samples = batch['inputs'], batch['data_samples']
        self.check_batch(inputs, samples)
        inputs = self.student_target_inputs(inputs, samples, carry)
        src, tgt = self.forward_domains(
            inputs, samples, with_decoder_feats=self.needs_decoder_feats)
        x_t = inputs['target']
        valid_t = valid_mask(samples['target'], x_t.shape[-2:], x_t.device)
        losses = add_prefix(src.losses, 'src')
        probs_t = {lv: lg[0].softmax(dim=1)
                   for lv, lg in tgt.logits.items()}
        losses.update(self.target_losses(src, tgt, probs_t, valid_t, carry))
        if self.prior is not None:
            losses['prior.loss_cp'] = self.prior['weight'] * \
                class_ratio_prior_loss(probs_t['decode'],
                                       self.source_class_ratio,
                                       self.prior['mu'], valid_t)
        if self.vis_request:
            vis = dict(
                image=x_t,
                target_probs=probs_t['decode'],
                target_entropy=entropy_map(probs_t['decode']).sum(1),
                source_image=inputs['source'],
                source_logits=src.logits['decode'][0])
            vis.update(carry.get('vis', {}))
            self.record_vis(**vis)
        return losses

    def student_target_inputs(self, inputs: Dict[str, Tensor],
                              samples: Dict[str, SampleList],
                              carry: dict) -> Dict[str, Tensor]:
        """The batch the segmentor trains on; a method may replace the
        ``target`` images (same size), leaving what its
        :meth:`target_losses` needs, and tensors to visualise under
        ``carry['vis']``, in ``carry``. Unchanged here."""
        return inputs

    #: whether target_losses needs the decode head's features
    needs_decoder_feats = False

    def target_losses(self, src: PartOutputs, tgt: PartOutputs,
                      probs_t: Dict[str, Tensor], valid_t: Tensor,
                      carry: dict) -> dict:
        """The method's unsupervised terms on the target (and what later
        optimiser steps need, left in ``carry``); none here."""
        return {}

    def segmentor_module(self):
        """The segmentor outside any DDP wrapper."""
        return unwrap(getattr(self, self.segmentor_name))


def level_names(weights: Dict[str, float]) -> List[str]:
    return [lv for lv, w in weights.items() if w > 0]
