"""Base class of teacher-student semi-supervised segmentors.

Modelled on mmdet's ``SemiBaseDetector``: it wraps any mmseg segmentor
config as a ``student`` (trained by gradient descent) and, optionally, a
``teacher`` (frozen here, updated by :class:`EMATeacherHook`); ``loss()``
receives the multi-branch batch of ``MultiBranch`` +
``MultiBranchDataPreprocessor``::

    inputs       = {'sup': (N_l, 3, H, W), 'unsup_teacher': (N_u, ...),
                    'unsup_student': (N_u, ...)}
    data_samples = {'sup': [...with gt_sem_seg], 'unsup_teacher': [...],
                    'unsup_student': [...]}

and ``predict()``/``_forward()`` run the sub-model named by
``semi_test_cfg.predict_on``, so mmdet's ``TeacherStudentValLoop`` can
evaluate both. Plain mmseg checkpoints (no ``student.``/``teacher.`` key
prefixes) load into every sub-model.

Methods that train in stages declare them in :attr:`stage_specs` (see
:mod:`semiseg_mm.models.utils.stages`); the config gives their iteration
ranges as ``<train cfg>.stages``, :attr:`stage` is the current one and
each training step first enters it (freezing its sub-modules, unfreezing
the previous stage's).
"""
import contextlib
import copy
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.config import ConfigDict
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.utils import add_prefix
from torch import Tensor

from semiseg_mm.registry import MODELS
from ..filters import PseudoLabelBatch, build_filter
from ..utils import build_rampup, current_iter
from ..utils.forward import PartOutputs, forward_parts
from ..utils.stages import Stage, StageSchedule, StageSpec
from ..wrappers import unwrap

SampleList = List


class SemiBaseSegmentor(BaseSegmentor):
    """Owns the student (and teacher) and dispatches prediction.

    Args:
        segmentor: mmseg segmentor config (e.g. an ``EncoderDecoder``) used
            for the student and the teacher.
        semi_train_cfg: method hyperparameters (``sup_weight``,
            ``unsup_weight``, ``rampup``, ...); see each subclass.
        semi_test_cfg: ``predict_on``: which sub-model predicts (one of
            :attr:`predict_branches`; default the teacher if there is one).
            Teacher-student models are validated with
            ``val_cfg = dict(type='mmdet.TeacherStudentValLoop')`` (logs
            ``teacher/mIoU`` and ``student/mIoU``) or our
            ``SubModelValLoop``, which evaluates every predict branch.
        data_preprocessor: normally ``mmdet.MultiBranchDataPreprocessor``
            around ``SegDataPreProcessor``.
        with_teacher: build an EMA teacher.
        pseudo_label_filter: which pseudo-labelled pixels the student
            learns from, a registered
            :class:`~semiseg_mm.models.filters.PseudoLabelFilter` config
            (``ConfidenceFilter``, ``ClassAdaptiveThreshold``, ...); built
            as the ``pseudo_label_filter`` sub-module, so its running
            statistics are checkpointed. Methods that learn from
            pseudo-labels read it through :meth:`filter_pseudo_labels`;
            ``None`` leaves it to the method's default.
    """
    #: the batch branches ``loss()`` needs, the labelled one first (the
    #: only one a stage declared without unlabelled images receives)
    train_branches: Tuple[str, ...] = ('sup', 'unsup_teacher',
                                       'unsup_student')
    #: the ``semi_train_cfg`` keys the method reads; any other key is a
    #: typo and refused (subclasses add theirs)
    semi_train_keys: Tuple[str, ...] = ('sup_weight', 'unsup_weight',
                                        'rampup')
    #: the two-source dataset the batch comes from (error messages)
    dataset_hint = 'SemiDataset'
    #: the config key holding the method's hyperparameters (messages)
    train_cfg_name = 'semi_train_cfg'
    #: the method's training stages, in order (empty: one stage); the
    #: config's ``<train cfg>.stages`` says when each runs
    stage_specs: Dict[str, StageSpec] = {}

    def __init__(self,
                 segmentor: Union[dict, ConfigDict],
                 semi_train_cfg: Optional[dict] = None,
                 semi_test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 with_teacher: bool = True,
                 pseudo_label_filter: Optional[dict] = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.with_teacher = with_teacher
        # modules kept frozen and in eval mode (see freeze / train)
        self._frozen: List[nn.Module] = []
        self._sub_models = tuple(self.build_sub_models(segmentor))
        if with_teacher:
            self.freeze(self.teacher)
        self.semi_train_cfg = ConfigDict(semi_train_cfg or {})
        self.check_train_keys(self.semi_train_cfg)
        self.stages: Optional[StageSchedule] = None
        if self.stage_specs:
            self.stages = StageSchedule.build(
                self.semi_train_cfg.get('stages'), self.stage_specs,
                type(self).__name__, f'model.{self.train_cfg_name}.stages')
        self._stage: Optional[Stage] = None
        # parameter -> requires_grad before the current stage froze it
        self._stage_frozen: Dict[str, List[Tuple[nn.Parameter, bool]]] = {}
        self.semi_test_cfg = ConfigDict(semi_test_cfg or {})
        self.semi_test_cfg.setdefault('predict_on',
                                      self.default_predict_on())
        self._check_predict_on(self.semi_test_cfg.predict_on)
        self.sup_weight = float(self.semi_train_cfg.get('sup_weight', 1.0))
        self.unsup_weight = float(
            self.semi_train_cfg.get('unsup_weight', 1.0))
        self.unsup_rampup = build_rampup(self.semi_train_cfg.get('rampup'))
        filter_cfg = pseudo_label_filter or self.default_filter()
        self.pseudo_label_filter = build_filter(
            filter_cfg, self.num_classes,
            type(self).__name__) if filter_cfg else None
        # where pseudo-labels come from (FixMatch may choose the student)
        self.pseudo_source = 'teacher' if with_teacher else 'student'
        # PseudoLabelHealthHook sets pl_stats_request; the pseudo-label
        # helpers then leave per-class counts in pl_stats
        self.pl_stats_request = False
        self.pl_stats: Optional[Dict[str, Tensor]] = None
        # visualisation: a hook sets vis_request; loss() then records
        self.vis_request = False
        self.vis_data: Optional[Dict[str, Tensor]] = None

    # ------------------------------------------------------------------ #
    # sub-models
    # ------------------------------------------------------------------ #
    def build_sub_models(self, segmentor: dict) -> Tuple[str, ...]:
        """Build the segmentation sub-models as attributes; return their
        names. Default: ``student`` (+ ``teacher``). Methods with other
        sub-models (GCT's two task models) override this."""
        self.student = MODELS.build(copy.deepcopy(segmentor))
        if not self.with_teacher:
            return ('student', )
        self.teacher = MODELS.build(copy.deepcopy(segmentor))
        return ('student', 'teacher')

    @classmethod
    def check_train_keys(cls, cfg: dict) -> None:
        """Refuse :attr:`train_cfg_name` keys not in
        :attr:`semi_train_keys`."""
        known = cls.semi_train_keys + (('stages', )
                                       if cls.stage_specs else ())
        unknown = sorted(set(cfg) - set(known))
        if unknown:
            raise ValueError(
                f'{cls.__name__}: unknown {cls.train_cfg_name} key(s) '
                f'{unknown}{cls.unknown_keys_hint(unknown)}; known: '
                f'{sorted(known)}')

    @classmethod
    def unknown_keys_hint(cls, unknown: List[str]) -> str:
        """Extra text for the unknown-key error (e.g. where a method keeps
        the setting the user probably meant); empty by default."""
        return ''

    def default_predict_on(self) -> str:
        return 'teacher' if self.with_teacher else 'student'

    def default_filter(self) -> Optional[dict]:
        """The ``pseudo_label_filter`` used when the config gives none;
        ``None``: no filter (e.g. Mean Teacher's consistency on every
        pixel)."""
        return None

    def freeze(self, model: nn.Module) -> None:
        """No gradients for ``model`` and eval mode, kept through
        :meth:`train` (EMA teachers and copies)."""
        model.eval()
        for p in model.parameters():
            p.requires_grad = False
        self._frozen.append(model)

    # ------------------------------------------------------------------ #
    # training stages
    # ------------------------------------------------------------------ #
    @property
    def stage(self) -> Optional[Stage]:
        """The stage of the current iteration (``None`` without stages);
        entering it if the iteration moved on."""
        return self.sync_stage()

    def sync_stage(self, iteration: Optional[int] = None) -> Optional[Stage]:
        """Enter the stage of ``iteration`` (default: the runner's current
        one) unless already in it; returns it."""
        if self.stages is None:
            return None
        if self._stage is None:  # first call: check the whole table
            self.check_stages()
        stage = self.stages.at(
            current_iter() if iteration is None else iteration)
        if stage != self._stage:
            self.enter_stage(stage)
        return stage

    def trains(self, path: str) -> bool:
        """Whether the sub-module ``path`` learns in the current stage (not
        in its ``frozen``; always without stages)."""
        stage = self.stage
        return stage is None or path not in stage.frozen

    def check_stages(self) -> None:
        """Every stage's frozen sub-modules exist (subclasses build theirs
        after this base) and the last stage ends at the runner's
        ``max_iters``; raises naming the stage-table key."""
        for stage in self.stages:
            for path in stage.frozen:
                self._stage_module(path, stage)
        max_iters = self._runner_max_iters()
        if max_iters is not None:
            self.stages.check_max_iters(max_iters)

    def enter_stage(self, stage: Stage) -> None:
        """Unfreeze what the previous stage froze and is not frozen now,
        freeze ``stage.frozen``. Subclasses extend it for other per-stage
        state (and call this)."""
        for path in list(self._stage_frozen):
            if path not in stage.frozen:
                module = self._stage_module(path, stage)
                for p, flag in self._stage_frozen.pop(path):
                    p.requires_grad_(flag)
                self._frozen.remove(module)
                module.train(self.training)
        for path in stage.frozen:
            if path in self._stage_frozen:
                continue
            module = self._stage_module(path, stage)
            params = list(module.parameters())
            self._stage_frozen[path] = [(p, p.requires_grad) for p in params]
            for p in params:
                p.requires_grad_(False)
            module.eval()
            self._frozen.append(module)
        previous, self._stage = self._stage, stage
        if previous is not None or stage.begin > 0 or stage.frozen:
            from mmengine.logging import print_log
            print_log(
                f'{type(self).__name__}: stage {stage.name!r} (iterations '
                f'[{stage.begin}, {stage.end})), frozen: '
                f"{', '.join(stage.frozen) or 'nothing'}", logger='current')

    def _stage_module(self, path: str, stage: Stage) -> nn.Module:
        module = self
        for part in path.split('.'):
            if not hasattr(module, part):
                raise AttributeError(
                    f'{self.stages.key}[{stage.index}] (stage '
                    f'{stage.name!r}) freezes {path!r}, but '
                    f'{type(self).__name__} has no sub-module {path!r}')
            module = getattr(module, part)
        return unwrap(module)

    @staticmethod
    def _runner_max_iters() -> Optional[int]:
        from mmengine.logging import MessageHub
        value = MessageHub.get_current_instance().get_info('max_iters')
        return None if value is None else int(value)

    def train_step(self, data, optim_wrapper):
        return super().train_step(self.stage_batch(data), optim_wrapper)

    def stage_batch(self, data: dict) -> dict:
        """The loader's batch as the current stage uses it (entering the
        stage first): a stage declared without unlabelled images
        (``StageSpec(unlabelled=False)``) keeps only the labelled branch,
        ``train_branches[0]``, so its iterations do not preprocess (stack,
        normalise, pad) images no network sees. The data loader still loads
        them: the batch composition stays the same through the stages, and
        with it the random stream of a resumed run."""
        stage = self.sync_stage()
        if stage is None or stage.unlabelled or not isinstance(
                data, dict) or not isinstance(data.get('inputs'), dict):
            return data
        keep = self.train_branches[0]
        return {
            key: {keep: value[keep]}
            if isinstance(value, dict) and keep in value else value
            for key, value in data.items()
        }

    def required_branches(self) -> Tuple[str, ...]:
        """The branches the current stage's ``loss()`` needs: every one of
        ``train_branches``, or the labelled one in a stage without
        unlabelled images (:meth:`stage_batch`)."""
        stage = self.stage
        if stage is not None and not stage.unlabelled:
            return self.train_branches[:1]
        return self.train_branches

    def train(self, mode: bool = True) -> 'SemiBaseSegmentor':
        """The runner's ``model.train()`` must not put a frozen, EMA-updated
        model (the teacher, GCT's EMA copies) into training mode: its
        BatchNorm would then use batch statistics and update running
        ones."""
        super().train(mode)
        for model in self._frozen:
            model.eval()
        return self

    @property
    def num_classes(self) -> int:
        return getattr(self, self._sub_models[0]).decode_head.num_classes

    @property
    def predict_branches(self) -> Tuple[str, ...]:
        """The sub-models ``semi_test_cfg.predict_on`` may name."""
        return self.sub_model_names()

    def _check_predict_on(self, name: str) -> None:
        if name not in self.predict_branches:
            raise ValueError(
                f"{type(self).__name__}: semi_test_cfg.predict_on={name!r} "
                f"is not a branch; choose one of {self.predict_branches}")

    def predict_model(self) -> BaseSegmentor:
        """The sub-model named by ``semi_test_cfg.predict_on`` (outside
        its DDP wrapper when each sub-model has one)."""
        name = self.semi_test_cfg.get('predict_on')
        self._check_predict_on(name)
        return unwrap(getattr(self, name))

    # ------------------------------------------------------------------ #
    # BaseSegmentor interface
    # ------------------------------------------------------------------ #
    def extract_feat(self, inputs: Tensor) -> List[Tensor]:
        return self.predict_model().extract_feat(inputs)

    def encode_decode(self, inputs: Tensor,
                      batch_data_samples: SampleList) -> Tensor:
        return self.predict_model().encode_decode(inputs, batch_data_samples)

    def predict(self,
                inputs: Tensor,
                data_samples: Optional[SampleList] = None) -> SampleList:
        return self.predict_model().predict(inputs, data_samples)

    def _forward(self,
                 inputs: Tensor,
                 data_samples: Optional[SampleList] = None) -> Tensor:
        return self.predict_model()._forward(inputs, data_samples)

    def loss(self, multi_inputs: Dict[str, Tensor],
             multi_data_samples: Dict[str, SampleList]) -> dict:
        raise NotImplementedError(
            f'{type(self).__name__} must implement loss()')

    # ------------------------------------------------------------------ #
    # helpers for subclasses
    # ------------------------------------------------------------------ #
    def check_batch(self, multi_inputs: Dict[str, Tensor],
                    multi_data_samples: Dict[str, SampleList]) -> None:
        """Every branch ``loss()`` needs (:meth:`required_branches`) is
        present and non-empty."""
        for branch in self.required_branches():
            x = multi_inputs.get(branch) if isinstance(multi_inputs,
                                                       dict) else None
            if x is None or len(x) == 0:
                got = (list(multi_inputs) if isinstance(multi_inputs, dict)
                       else type(multi_inputs).__name__)
                raise ValueError(
                    f'{type(self).__name__}: the training batch has no '
                    f'{branch!r} images (branches: {got}). Use a '
                    f'{self.dataset_hint} with a MultiSourceSampler whose '
                    'batch_size '
                    'equals train_dataloader.batch_size, MultiBranch '
                    'pipelines producing '
                    f"{'/'.join(repr(b) for b in self.train_branches)}, "
                    'and mmdet.MultiBranchDataPreprocessor.')

    def sup_losses(self, losses: dict) -> dict:
        """Weight and prefix the supervised losses (``sup.*``)."""
        if self.sup_weight != 1.0:
            losses = {
                k: v * self.sup_weight if 'loss' in k else v
                for k, v in losses.items()
            }
        return add_prefix(losses, 'sup')

    def current_unsup_weight(self) -> float:
        """``unsup_weight`` times the ramp-up at the current iteration."""
        return self.unsup_weight * self.unsup_rampup()

    @contextlib.contextmanager
    def pseudo_label_pass(self, source: str = 'teacher'):
        """The model ``source`` names, in eval mode and in
        :meth:`pseudo_label_context`, for a pass that makes pseudo-labels;
        its mode is restored afterwards."""
        model = getattr(self, source)
        was_training = model.training
        model.eval()
        try:
            with self.pseudo_label_context(model):
                yield model
        finally:
            model.train(was_training)

    @torch.no_grad()
    def teacher_logits(self, inputs: Tensor,
                       source: str = 'teacher') -> Tensor:
        """Logits at input resolution from the teacher (eval mode) or, for
        same-model methods, the student in eval mode."""
        from ..utils import full_res_logits
        with self.pseudo_label_pass(source) as model:
            return full_res_logits(model, inputs)

    @torch.no_grad()
    def teacher_outputs(self, inputs: Tensor, source: str = 'teacher',
                        **kwargs) -> PartOutputs:
        """:func:`~semiseg_mm.models.utils.forward_parts` of the
        pseudo-labelling pass on one batch (``kwargs``: its ``levels``,
        ``with_feats``, ``with_decoder_feats``), e.g. the teacher's
        decoder features for a projector."""
        with self.pseudo_label_pass(source) as model:
            return forward_parts(model, [inputs], **kwargs)

    @torch.no_grad()
    def teacher_probs(self, inputs: Tensor, source: str = 'teacher') -> Tensor:
        """Softmax of :meth:`teacher_logits`."""
        return self.teacher_logits(inputs, source).softmax(dim=1)

    def pseudo_label_context(self, model: nn.Module):
        """A context the eval-mode pseudo-labelling pass of
        :meth:`teacher_probs` runs in (none here; DACS normalises the batch
        by its own BatchNorm statistics)."""
        return contextlib.nullcontext()

    @torch.no_grad()
    def filter_pseudo_labels(self, probs: Tensor, valid: Tensor,
                             labelled_samples: Optional[SampleList] = None,
                             images: Optional[Tensor] = None,
                             logits: Optional[Tensor] = None
                             ) -> Tuple[Tensor, Tensor, Tensor]:
        """Hard pseudo-labels, their confidence and the filter's acceptance
        (a bool mask or float weights; all (N, H, W)) from teacher
        probabilities ``probs`` on image pixels ``valid``. The labelled
        samples' masks are passed to filters that need them, and the
        images the teacher saw with its ``logits`` to those that judge
        them (``ELNFilter``). Without a filter every valid pixel is
        accepted."""
        f = self.pseudo_label_filter
        labelled = None
        if f is not None and 'labelled' in f.needs:
            labelled = self._labelled_masks(labelled_samples, probs.device)
        batch = PseudoLabelBatch.from_probs(
            probs, valid, labelled=labelled,
            ignore_index=self.ignore_index_of_labels(), images=images,
            logits=logits)
        accept = f(batch) if f is not None else valid.clone()
        self.record_pseudo_label_stats(batch.labels, accept, valid,
                                       labelled_samples, labelled)
        return batch.labels, batch.confidence, accept

    @staticmethod
    def _labelled_masks(samples: SampleList, device) -> Tensor:
        return torch.stack([s.gt_sem_seg.data.squeeze(0)
                            for s in samples]).to(device)

    @torch.no_grad()
    def record_pseudo_label_stats(self,
                                  labels: Tensor,
                                  accept: Tensor,
                                  valid: Tensor,
                                  labelled_samples: Optional[SampleList],
                                  labelled: Optional[Tensor] = None) -> None:
        """Per-class pixel counts of this iteration for
        ``PseudoLabelHealthHook`` (only when it asked): pseudo-labelled
        and accepted (weights count fractionally) image pixels, and the
        labelled masks' pixels."""
        if not self.pl_stats_request:
            return
        c = self.num_classes
        pixels = valid.sum()
        if int(pixels) == valid.numel():  # no padding: skip the indexing
            lab, weight = labels.flatten(), accept.flatten()
        else:
            lab, weight = labels[valid], accept[valid]
        stats = dict(
            pixels=pixels.to(torch.float),
            predicted=torch.bincount(lab, minlength=c).to(torch.float),
            accepted=torch.bincount(
                lab, weights=weight.to(torch.float), minlength=c))
        if labelled is None and labelled_samples:
            labelled = self._labelled_masks(labelled_samples, labels.device)
        if labelled is not None:
            # masks hold [0, c) and the ignore index (checked when loaded):
            # count everything, keep the classes
            stats['labelled'] = torch.bincount(
                labelled.flatten().clamp(min=0), minlength=c)[:c].to(
                    torch.float)
        self.pl_stats = stats

    @torch.no_grad()
    def probe_pseudo_labels(self, inputs: Tensor,
                            with_confidence: bool = False) -> tuple:
        """Pseudo-labels and their acceptance on ``inputs`` (preprocessed
        images) as training would make them, without updating any running
        statistic: the pseudo-label source in eval mode, the filter in eval
        mode (every pixel accepted without a filter); with
        ``with_confidence`` also the teacher's confidence (for comparing a
        filter with the best confidence threshold)."""
        d = self.probe_details(inputs)
        extra = (d['confidence'], ) if with_confidence else ()
        return (d['labels'], d['accept']) + extra

    @torch.no_grad()
    def probe_details(self, inputs: Tensor, with_score: bool = False
                      ) -> Dict[str, Tensor]:
        """What :meth:`probe_pseudo_labels` decides, as a dict: the
        teacher's ``probs`` (N, C, H, W), ``labels``, ``confidence`` and the
        filter's ``accept`` (mask or weights); with ``with_score`` also the
        filter's own ``score`` map where it has one
        (:meth:`PseudoLabelFilter.score`, e.g. ELN's probability that a
        pseudo-label is right), for the probe pictures."""
        logits = self.teacher_logits(inputs, self.pseudo_source)
        probs = logits.softmax(dim=1)
        valid = torch.ones(probs.shape[:1] + probs.shape[2:],
                           dtype=torch.bool, device=probs.device)
        batch = PseudoLabelBatch.from_probs(probs, valid, images=inputs,
                                            logits=logits)
        out = dict(probs=probs, labels=batch.labels,
                   confidence=batch.confidence, accept=valid)
        f = self.pseudo_label_filter
        if f is None:
            return out
        was_training = f.training
        f.eval()
        try:
            out['accept'], score = f.decide(batch, with_score)
        finally:
            f.train(was_training)
        if score is not None:
            out['score'] = score
        return out

    def ignore_index_of_labels(self) -> int:
        head = getattr(self, self._sub_models[0]).decode_head
        return getattr(head, 'ignore_index', 255)

    def record_vis(self, **tensors: Optional[Tensor]) -> None:
        """Keep detached CPU copies of tensors for the visualisation hook,
        only in iterations where it asked for them."""
        if not self.vis_request:
            return
        self.vis_data = {
            k: v.detach().float().cpu() if v.is_floating_point() else
            v.detach().cpu()
            for k, v in tensors.items() if v is not None
        }

    # ------------------------------------------------------------------ #
    # checkpoints
    # ------------------------------------------------------------------ #
    def sub_model_names(self) -> Tuple[str, ...]:
        """The segmentation sub-models; a plain (un-prefixed) checkpoint is
        loaded into each."""
        return self._sub_models

    def sub_model_config_key(self, name: str) -> str:
        """The ``model`` config key sub-model ``name`` is built from (error
        messages name it); ``segmentor`` by default."""
        return 'segmentor'

    def is_plain_checkpoint(self, keys) -> bool:
        """Whether state-dict ``keys`` (without this model's prefix) come
        from a plain mmseg segmentor: none starts with a sub-model name
        (``student.``) or ``data_preprocessor``."""
        names = self.sub_model_names()
        return bool(keys) and not any(
            k.split('.', 1)[0] in names or k.startswith('data_preprocessor')
            for k in keys)

    def expand_checkpoint_keys(self, entries: dict) -> dict:
        """``{key: value}`` of a checkpoint as this model loads them: a
        plain checkpoint's entries go to every sub-model."""
        if not self.is_plain_checkpoint(list(entries)):
            return dict(entries)
        return {
            f'{name}.{k}': v
            for name in self.sub_model_names() for k, v in entries.items()
        }

    def _load_from_state_dict(self, state_dict: dict, prefix: str,
                              local_metadata: dict, strict: bool,
                              missing_keys: list, unexpected_keys: list,
                              error_msgs: list) -> None:
        """Load a plain mmseg checkpoint into every sub-model."""
        own = [k for k in state_dict if k.startswith(prefix)]
        if self.is_plain_checkpoint([k[len(prefix):] for k in own]):
            plain = {k[len(prefix):]: state_dict.pop(k) for k in own}
            for k, v in self.expand_checkpoint_keys(plain).items():
                state_dict[prefix + k] = v
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      strict, missing_keys, unexpected_keys,
                                      error_msgs)
