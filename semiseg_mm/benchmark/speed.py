"""Iteration time, overhead and peak memory of a method's training step.

For a config we time, on the same pre-loaded batches in one process:

* ``method``: the method's full ``train_step`` (batch preprocessing,
  forward, backward, optimiser step) plus, for teacher-student methods, the
  EMA update of ``EMATeacherHook`` (also reported on its own);
* ``reference``: batch preprocessing and the bare passes of the networks
  the method runs on that batch (registered per method in
  :data:`REFERENCES`), e.g. for Mean Teacher one student forward+backward
  over labelled + strong views and one teacher forward over the weak views
  (no optimiser step, no loss bookkeeping);

``overhead = method / reference``. The per-iteration input checks are
timed too (``checks_s``, ``checks_share`` of the iteration): the config's
``FiniteLossHook`` runs inside ``method`` as in training (its checks after
each step's forward pass and after the iteration are timed on their own),
plus the dataset's per-sample mask checks for one batch's labelled
samples (done in the data loader, outside ``method``). So is the config's
``PseudoLabelHealthHook`` (``health_s``, ``health_share``): its
per-iteration pseudo-label counts and accumulation, plus one report (with
its probe forward passes) divided by the report interval.

Peak memory (``peak_mib``) is the most tensor memory a training iteration
holds beyond the model and the loaded batches: on CUDA the growth of
``max_memory_allocated`` over the state after building the model and loading
the batches; on CPU, where torch keeps no such counter, the peak of the
allocation and free events ``torch.profiler`` records during one more
iteration after the timed ones, plus what stays allocated across iterations
(the gradients still held when it starts and the optimiser's state). Both
count tensors only, so they repeat from run to run. The CPU process's peak
resident set growth is reported beside it (``rss_peak_mib``; it moves by
10-20 % with the allocator). Run each config in its own process
(``tools/benchmark.py`` does) so peaks do not mix.
"""
import resource
import statistics
import time
from typing import Callable, Dict, List, Optional

import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from semiseg_mm.datasets import SplitSegDatasetMixin
from semiseg_mm.datasets.checks import leaf_datasets
from semiseg_mm.engine.hooks import EMATeacherHook, FiniteLossHook
from semiseg_mm.models.wrappers import unwrap
from semiseg_mm.registry import HOOKS, MODELS

#: ``reference(model, data)``: the method's network passes on ``data``
#: (preprocessed multi-branch batch), one training iteration's worth.
REFERENCES: Dict[str, Callable] = {}


def register_reference(*names: str) -> Callable:
    def wrap(fn: Callable) -> Callable:
        for n in names:
            REFERENCES[n] = fn
        return fn

    return wrap


def _random_ce(logits: torch.Tensor) -> torch.Tensor:
    """CE of ``logits`` against random labels (the cost of a CE loss)."""
    target = torch.randint(0, logits.shape[1], (logits.shape[0], ) +
                           logits.shape[2:], device=logits.device)
    return F.cross_entropy(logits, target)


def _fwd_bwd(model, x: torch.Tensor) -> None:
    from semiseg_mm.models.utils import full_res_logits
    _random_ce(full_res_logits(model, x)).backward()


def _head_losses(out) -> torch.Tensor:
    return sum(v for k, v in out.losses.items() if 'loss' in k)


@register_reference('EncoderDecoder')
def _supervised(model, data) -> None:
    """Forward+backward of every head's loss (the decode head and any
    auxiliary head)."""
    from semiseg_mm.models.utils.forward import forward_parts
    out = forward_parts(model, [data['inputs']], data['data_samples'],
                        levels=())
    _head_losses(out).backward()


@register_reference('MeanTeacher', 'FixMatch')
def _teacher_student(model, data) -> None:
    from semiseg_mm.models.utils import full_res_logits
    x = data['inputs']
    student_views = [x['sup'], x['unsup_student']]
    if getattr(model, 'with_fp', False):  # FixMatch's feature stream
        student_views.append(x['unsup_teacher'])
    _fwd_bwd(model.student, torch.cat(student_views))
    source = model.teacher if model.with_teacher else model.student
    with torch.no_grad():
        full_res_logits(source, x['unsup_teacher'])


@register_reference('GCT')
def _gct(model, data) -> None:
    """Task step: each task model forward+backward over labelled and
    unlabelled images, with the flaw detector's forward (and backward into
    the model) on its prediction; detector step: the detector forward+
    backward on both models' (detached) predictions. ``strong_view``
    adds, without gradients, each task model's forward on the weak views
    and the detector's forward on its prediction there."""
    from semiseg_mm.models.utils import full_res_logits
    inputs = data['inputs']
    unlabeled = 'unsup_student' if model.strong_view else 'unsup'
    x = torch.cat([inputs['sup'], inputs[unlabeled]])
    detector = unwrap(model.flaw_detector)
    if model.strong_view:
        with torch.no_grad():
            for task_model in model.task_models():
                x_w = inputs['unsup_teacher']
                detector(x_w, full_res_logits(task_model, x_w).softmax(1))
    probs = []
    for task_model in model.task_models():
        logits = full_res_logits(task_model, x)
        p = logits.softmax(dim=1)
        (_random_ce(logits) + detector(x, p).square().mean()).backward()
        probs.append(p.detach())
    for p in probs:
        detector(x, p).square().mean().backward()


@register_reference('AdaptSegNet', 'AdvEnt', 'FeatureAdversarial', 'MinEnt')
def _uda(model, data) -> None:
    """Segmentor step: the segmentor forward+backward over the source and
    the target images (every level the method uses), with each
    discriminator's forward on the target maps and the backward through
    it; discriminator step: each discriminator forward+backward on the
    detached source and target maps. MinEnt: the segmentor passes only.
    The source part gives every head's loss (auxiliary heads the method
    does not adapt included), as in training."""
    from semiseg_mm.models.utils.forward import PartOutputs, forward_parts
    inputs = data['inputs']
    seg = model.segmentor_module()
    out = forward_parts(seg, [inputs['source'], inputs['target']],
                        data['data_samples']['source'],
                        levels=model.used_levels(),
                        with_decoder_feats=model.needs_decoder_feats,
                        concat=model.joint)
    loss = _head_losses(out)
    for logits in out.logits.values():
        loss = loss + logits[1].mean()
    discriminators = getattr(model, 'discriminators', None)
    maps = []
    if discriminators is not None:
        feats = out.decoder_feats or [None, None]
        parts = [PartOutputs({}, {}, decoder_feats=[f]) for f in feats]
        d = unwrap(discriminators)
        for level in d:
            pair = [model.discriminator_input(
                level, out.logits[level][i].softmax(1), parts[i])
                for i in (0, 1)]
            loss = loss + d[level](pair[1]).mean()
            maps.append((level, [m.detach() for m in pair]))
    loss.backward()
    if maps:
        d_loss = sum(d[level](m).mean() for level, pair in maps for m in pair)
        d_loss.backward()


@register_reference('DACS')
def _dacs(model, data) -> None:
    """The teacher's forward (no gradients) on the target images, and the
    segmentor's forward+backward over the source and the (mixed) target
    images: every head's loss on the source, the main head's CE on the
    target."""
    from semiseg_mm.models.utils import full_res_logits
    from semiseg_mm.models.utils.forward import forward_parts
    inputs = data['inputs']
    with torch.no_grad():
        full_res_logits(model.teacher, inputs['target'])
    out = forward_parts(model.segmentor_module(),
                        [inputs['source'], inputs['target']],
                        data['data_samples']['source'],
                        levels=model.used_levels(), concat=model.joint)
    loss = _head_losses(out)
    for logits in out.logits.values():
        loss = loss + _random_ce(logits[1])
    loss.backward()


@register_reference('ELN')
def _eln(model, data) -> None:
    """ELN's passes in the current stage: the student forward+backward over
    the labelled images (every stage); where the auxiliary decoders and ELN
    learn (``eln``; ``semi`` when a config unfreezes them) each auxiliary
    decoder forward+backward on the detached labelled features and the ELN
    network forward+backward on each of the K + 1 predictions; in the
    teacher stage (``semi``) the student also over the weak and the strong
    views with its projector on their decoder features (when the
    contrastive loss is on), and, without gradients, the teacher (with its
    projector) and the ELN network on the weak view."""
    from semiseg_mm.models.utils.forward import forward_parts
    inputs, samples = data['inputs'], data['data_samples']
    stage = model.stage
    x_l, x_w = inputs['sup'], inputs['unsup_teacher']
    semi = stage.teacher
    contrast = semi and model.contrast['weight'] > 0
    parts = [x_l] + ([x_w, inputs['unsup_student']] if semi else [])
    out = forward_parts(model.student, parts, samples['sup'],
                        with_feats=True, with_decoder_feats=contrast)
    loss = _head_losses(out)
    if semi:
        for i, lg in enumerate(out.logits['decode'][1:], start=1):
            loss = loss + _random_ce(lg)
            if contrast:
                loss = loss + model.student.project(
                    out.decoder_feats[i]).square().mean()
        with torch.no_grad():
            t = forward_parts(model.teacher, [x_w],
                              with_decoder_feats=contrast)
            if contrast:
                model.teacher.project(t.decoder_feats[0])
            model.eln_network(x_w, t.logits['decode'][0])
    loss.backward()
    if model.trains('pseudo_label_filter'):
        feats = [f.detach() for f in out.feats[0]]
        preds = [out.logits['decode'][0].detach()]
        for head in model.aux_decoders:
            lg = head.forward(feats)
            _random_ce(lg).backward()
            preds.append(lg.detach())
        for p in preds:
            model.eln_network(x_l, p).square().mean().backward()


def _det_loss(losses: dict) -> torch.Tensor:
    """The sum of an mmdet loss dict's losses (per-level lists summed)."""
    total = 0.
    for k, v in losses.items():
        if 'loss' in k:
            total = total + (sum(v) if isinstance(v, (list, tuple)) else v)
    return total


@register_reference('FasterRCNN')
def _detector(model, data) -> None:
    """A two-stage detector's forward+backward of its losses (RPN and
    RoI head) on the batch."""
    _det_loss(model.loss(data['inputs'], data['data_samples'])).backward()


@register_reference('SemiSoftTeacher')
def _soft_teacher(model, data) -> None:
    """Soft Teacher's passes: the student forward+backward of its losses
    on the labelled images; without gradients, the teacher's detection on
    the weak views, its box head on the ``jitter_times`` jittered copies of
    each pseudo-box (regression uncertainty) and on the student's sampled
    proposals (background weights); the student forward+backward on the
    strong views with the teacher's boxes as targets: RPN, and the RoI head
    twice (the classification loss on the sampled proposals, the
    regression loss on its own sample), as mmdet's ``SoftTeacher`` runs
    it. The boxes' projection between views, filtering and sampling
    bookkeeping are the method's overhead."""
    import copy

    from mmengine.structures import InstanceData
    inputs, samples = data['inputs'], data['data_samples']
    student, teacher = model.student, model.teacher
    cfg = model.semi_train_cfg
    loss = 0.
    if 'sup' in inputs:
        loss = _det_loss(student.loss(inputs['sup'], samples['sup']))
    if 'unsup_teacher' in inputs:
        weak = samples['unsup_teacher']
        with torch.no_grad():
            x_t = teacher.extract_feat(inputs['unsup_teacher'])
            proposals = teacher.rpn_head.predict(x_t, weak, rescale=False)
            results = teacher.roi_head.predict(x_t, proposals, weak,
                                               rescale=False)
            keep = [r[r.scores >= cfg.pseudo_label_initial_score_thr]
                    for r in results]
            jittered = [
                InstanceData(bboxes=r.bboxes.repeat(cfg.jitter_times, 1))
                for r in keep
            ]
            metas = [s.metainfo for s in weak]
            teacher.roi_head.predict_bbox(x_t, metas, jittered,
                                          rcnn_test_cfg=None, rescale=False)
        strong = copy.deepcopy(samples['unsup_student'])
        for s, r in zip(strong, keep):
            s.gt_instances = InstanceData(bboxes=r.bboxes, labels=r.labels)
        x_s = student.extract_feat(inputs['unsup_student'])
        proposal_cfg = student.train_cfg.get('rpn_proposal',
                                             student.test_cfg.rpn)
        rpn_losses, props = student.rpn_head.loss_and_predict(
            x_s, copy.deepcopy(strong), proposal_cfg=proposal_cfg)
        loss = loss + _det_loss(rpn_losses)
        n = student.train_cfg.rcnn.sampler.num
        with torch.no_grad():
            teacher.roi_head.predict_bbox(
                x_t, metas, [InstanceData(bboxes=p.bboxes[:n]) for p in props],
                rcnn_test_cfg=None, rescale=False)
        for _ in range(2):
            loss = loss + _det_loss(
                student.roi_head.loss(x_s, copy.deepcopy(props), strong))
    loss.backward()


def _peak_bytes() -> int:
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _tensor_bytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors
               if isinstance(t, torch.Tensor))


def held_bytes(model: torch.nn.Module, optim) -> int:
    """Bytes that stay allocated from one iteration to the next beyond the
    model's weights: the gradients held now and every optimiser's state
    (an ``OptimWrapperDict``'s wrappers included)."""
    wrappers = (optim.optim_wrappers.values()
                if hasattr(optim, 'optim_wrappers') else [optim])
    state = _tensor_bytes(v for w in wrappers
                          for s in w.optimizer.state.values()
                          for v in s.values())
    return state + _tensor_bytes(p.grad for p in model.parameters())


def allocation_peak_bytes(step: Callable[[], None]) -> int:
    """Peak bytes of CPU tensor memory ``step()`` allocates beyond what is
    allocated when it starts: the running sum of the allocation (+) and
    free (-) events ``torch.profiler`` records, in time order."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU],
                 profile_memory=True) as prof:
        step()
    events = sorted(
        (e.start_ns(), e.nbytes())
        for e in prof.profiler.kineto_results.events()
        if e.name() == '[memory]')
    held = peak = 0
    for _, nbytes in events:
        held += nbytes
        peak = max(peak, held)
    return peak


def _ema_hook(cfg: Config, model) -> Optional[EMATeacherHook]:
    for h in cfg.get('custom_hooks', []):
        if h.get('type') == 'EMATeacherHook':
            hook = HOOKS.build(dict(h))
            fake = type('R', (), {'model': model, 'iter': 0})()
            hook.before_train(fake)
            return hook
    return None


class _TimedGuard:
    """The config's ``FiniteLossHook`` on a stand-in runner, its own work
    timed: every step's check (inside ``train_step``) and the
    end-of-iteration weight check."""

    def __init__(self, cfg: Config, model, optim, sync: Callable) -> None:
        spec = cfg.get('default_hooks', {}).get('finite_loss')
        self.hook = HOOKS.build(dict(spec)) if spec else None
        self.sync = sync
        self.seconds = 0.0
        if self.hook is None:
            return
        assert isinstance(self.hook, FiniteLossHook)
        self.runner = type('R', (), {
            'model': model, 'iter': 0, 'optim_wrapper': optim})()
        self.hook.before_train(self.runner)
        check = self.hook.check

        def timed_check(*args):
            self.sync()
            t0 = time.perf_counter()
            check(*args)
            self.sync()
            self.seconds += time.perf_counter() - t0

        self.hook.check = timed_check

    def after_iter(self) -> float:
        """The end-of-iteration check; returns this iteration's seconds."""
        if self.hook is not None:
            t0 = time.perf_counter()
            self.hook.after_train_iter(self.runner, 0)
            self.sync()
            self.seconds += time.perf_counter() - t0
        spent, self.seconds = self.seconds, 0.0
        return spent


class _TimedHealth:
    """The config's pseudo-label health hook on a stand-in runner, its work
    timed: the per-iteration pseudo-label counts (inside ``train_step``),
    their accumulation, and its report (probe forward passes), amortised
    over the report interval. For detection (``DetPseudoBoxHealthHook``)
    the counts are the losses' ``unsup.pseudo_boxes`` (no extra work), the
    report the teacher's pass over the probe images."""

    KINDS = ('PseudoLabelHealthHook', 'DetPseudoBoxHealthHook')

    def __init__(self, cfg: Config, model, loader, sync: Callable) -> None:
        spec = next((h for h in cfg.get('custom_hooks', [])
                     if h.get('type') in self.KINDS), None)
        self.hook = HOOKS.build(dict(spec)) if spec else None
        self.sync = sync
        self.seconds = 0.0
        self.reports: List[float] = []
        if self.hook is None:
            return
        visualizer = type('V', (), {'add_scalars': lambda *a, **k: None})()
        self.runner = type('R', (), {
            'model': model, 'iter': 0, 'train_dataloader': loader,
            'visualizer': visualizer, 'cfg': cfg})()
        self.hook.before_train(self.runner)
        self.model = unwrap(model)
        record = getattr(self.model, 'record_pseudo_label_stats', None)
        if record is None:
            return

        def timed_record(*args, **kwargs):
            self.sync()
            t0 = time.perf_counter()
            record(*args, **kwargs)
            self.sync()
            self.seconds += time.perf_counter() - t0

        self.model.record_pseudo_label_stats = timed_record

    def after_iter(self) -> float:
        """Accumulate this iteration's counts; returns its seconds (the
        amortised report added by :meth:`amortised_report`)."""
        if self.hook is not None:
            t0 = time.perf_counter()
            self.runner.iter = 1  # never a report iteration
            self.hook.after_train_iter(self.runner, 0)
            self.sync()
            self.seconds += time.perf_counter() - t0
        spent, self.seconds = self.seconds, 0.0
        return spent

    def _report(self) -> None:
        if hasattr(self.hook, 'report'):
            self.hook.report(self.runner, self.model)
        elif self.hook._probe:
            self.hook.probe_figures(self.model)

    def amortised_report(self, times: int = 3) -> float:
        """Median seconds of one report (with the probe), over the report
        interval."""
        if self.hook is None:
            return 0.0
        for _ in range(times):
            self.sync()
            t0 = time.perf_counter()
            self._report()
            self.sync()
            self.reports.append(time.perf_counter() - t0)
        return statistics.median(self.reports) / self.hook.interval


def _sample_check_s(loader, samples: int) -> float:
    """Seconds of the datasets' per-sample mask checks for ``samples``
    labelled samples (pipelines run untimed)."""
    datasets = [
        d for _, d in leaf_datasets(loader.dataset)
        if isinstance(d, SplitSegDatasetMixin) and d.check_labels
    ]
    if not datasets:
        return 0.0
    spent = 0.0
    ds = datasets[0]
    for idx in range(min(samples, len(ds))):
        results = ds.pipeline(ds.get_data_info(idx))
        t0 = time.perf_counter()
        ds._check_sample_labels(results, idx)
        spent += time.perf_counter() - t0
    return spent


def measure(config: str,
            iters: int = 20,
            warmup: int = 5,
            cfg_options: Optional[dict] = None,
            at_iter: Optional[int] = None) -> dict:
    """Time and memory of one config's training iteration (see module), at
    iteration ``at_iter`` (default: half-way through training, past any
    warm-up or ramp-up; a staged method is measured in that iteration's
    stage)."""
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'semiseg_mm'))
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    model = MODELS.build(cfg.model).to(device)
    model.init_weights()
    if cfg.get('load_from'):
        # a trained model (e.g. a teacher that produces pseudo-labels: its
        # method's work depends on them); random weights otherwise
        from mmengine.runner import load_checkpoint
        load_checkpoint(model, cfg.load_from, map_location=device)
    model.train()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.pop('persistent_workers', None)
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    it = iter(loader)
    batches = [next(it) for _ in range(warmup + iters)]
    # past any warm-up / ramp-up, so the unlabelled work is done
    if at_iter is None:
        at_iter = cfg.train_cfg.get('max_iters', 10**6) // 2
    MessageHub.get_current_instance().update_info('iter', at_iter)
    sync_stage = getattr(unwrap(model), 'sync_stage', None)
    stage = sync_stage(at_iter) if sync_stage is not None else None
    hook = _ema_hook(cfg, model)
    if stage is not None and not stage.teacher:
        hook = None  # EMATeacherHook averages only in teacher stages
    base_mem = _peak_bytes()
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
        base_mem = torch.cuda.max_memory_allocated()

    def sync():
        if torch.cuda.is_available():
            torch.cuda.synchronize()

    guard = _TimedGuard(cfg, model, optim, sync)
    health = _TimedHealth(cfg, model, loader, sync)
    name = type(unwrap(model)).__name__
    ref_fn = REFERENCES.get(name)
    # method and reference alternate batch by batch, so a change in the
    # machine's load hits both sides of the ratio alike
    method_t: List[float] = []
    ema_t: List[float] = []
    ref_t: List[float] = []
    guard_t: List[float] = []
    health_t: List[float] = []
    for i, batch in enumerate(batches):
        sync()
        t0 = time.perf_counter()
        model.train_step(batch, optim)
        sync()
        guard_s = guard.after_iter()
        health_s = health.after_iter()
        t1b = time.perf_counter()
        if hook is not None:
            hook.update(hook.momentum)
        sync()
        t2 = time.perf_counter()
        if i >= warmup:
            method_t.append(t1b - t0)
            ema_t.append(t2 - t1b)
            guard_t.append(guard_s)
            health_t.append(health_s)
        if ref_fn is not None:
            optim.zero_grad()
            sync()
            t0 = time.perf_counter()
            ref_fn(model, model.data_preprocessor(batch, training=True))
            sync()
            if i >= warmup:
                ref_t.append(time.perf_counter() - t0)
            optim.zero_grad()
    # the reference runs a subset of the method's passes, so this peak is
    # the method's
    peak = _peak_bytes() - base_mem
    optim.zero_grad()
    rss_peak = None
    if device == 'cpu':
        # torch's CPU allocator keeps no peak counter: count one more
        # iteration's tensor allocations (the timed ones stay unprofiled)
        rss_peak = peak
        held = held_bytes(model, optim)
        peak = held + allocation_peak_bytes(
            lambda: model.train_step(batches[-1], optim))
    med = statistics.median
    method = med(method_t) + (med(ema_t) if ema_t else 0.0)
    # labelled samples per batch: the sampler's first source, or the batch
    ratio = cfg.train_dataloader.get('sampler', {}).get('source_ratio')
    labelled = ratio[0] if ratio else cfg.train_dataloader.batch_size
    checks = med(guard_t) + _sample_check_s(loader, labelled)
    health_s = (med(health_t) + health.amortised_report()
                if health.hook is not None else None)
    result = dict(
        config=config,
        stage=stage.name if stage is not None else None,
        model=name,
        threads=torch.get_num_threads(),
        device=device,
        iter_s=method,
        train_step_s=med(method_t),
        ema_s=med(ema_t) if hook is not None else None,
        reference_s=med(ref_t) if ref_t else None,
        checks_s=checks,
        checks_share=checks / method,
        health_s=health_s,
        health_share=health_s / method if health_s is not None else None,
        peak_mib=max(peak, 0) / 2**20,
        rss_peak_mib=(max(rss_peak, 0) / 2**20
                      if rss_peak is not None else None))
    result['overhead'] = (method / result['reference_s']
                          if result['reference_s'] else None)
    result['ema_share'] = (result['ema_s'] / method
                           if result['ema_s'] is not None else None)
    return result

