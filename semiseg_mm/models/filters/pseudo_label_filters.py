"""Pseudo-label filters: which pseudo-labelled pixels a student learns from.

Every public semi-supervised segmentation code base hard-wires one rule
(UniMatch a confidence threshold, U2PL an entropy rank, FlexMatch/FreeMatch
class-adaptive thresholds, SoftMatch a soft weight). Here each rule is a
registered component with one interface, so FixMatch, Mean Teacher and the
methods after them take any of them from the config::

    model = dict(type='FixMatch', ...,
                 pseudo_label_filter=dict(type='ClassAdaptiveThreshold',
                                          threshold=0.95))

A filter receives a :class:`PseudoLabelBatch` (the teacher's probabilities
on the weak view, their argmax and maximum, the image pixels, and whatever
else it declares in :attr:`PseudoLabelFilter.needs`) and returns a per-pixel
acceptance: a bool mask (hard filters) or weights in [0, 1] (soft ones).
Filters with running statistics keep them in buffers (saved in checkpoints,
so resume continues exactly) and update them only in training mode; in
distributed runs the statistics are averaged over ranks, so every rank
applies the same thresholds.
"""
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.distributed as dist
import torch.nn as nn
from torch import Tensor

from semiseg_mm.registry import MODELS


@dataclass
class PseudoLabelBatch:
    """What a filter may look at (all (N, ...) on one device).

    Attributes:
        probs: (N, C, H, W) teacher probabilities on the weak view.
        valid: (N, H, W) bool, image pixels (False on padding).
        labels: (N, H, W) long, ``probs.argmax(1)``.
        confidence: (N, H, W), ``probs.max(1)``.
        labelled: (N_l, H', W') long, the same iteration's labelled masks
            (ignore index where unlabelled), for filters that follow the
            labelled class frequencies (``needs = ('labelled', )``).
        ignore_index: the labelled masks' ignore value.
        images: (N, 3, H, W) the preprocessed images the teacher saw, and
        logits: (N, C, H, W) its logits, for filters that judge the
            prediction with a network (``ELNFilter``: ``needs = ('images',
            'logits')``).
    """
    probs: Tensor
    valid: Tensor
    labels: Tensor
    confidence: Tensor
    labelled: Optional[Tensor] = None
    ignore_index: int = 255
    images: Optional[Tensor] = None
    logits: Optional[Tensor] = None

    @classmethod
    def from_probs(cls, probs: Tensor, valid: Tensor, **extra):
        confidence, labels = probs.max(dim=1)
        return cls(probs=probs, valid=valid, labels=labels,
                   confidence=confidence, **extra)

    @property
    def num_classes(self) -> int:
        return self.probs.shape[1]


def _all_reduce_mean(t: Tensor) -> Tensor:
    if dist.is_available() and dist.is_initialized() and (
            dist.get_world_size() > 1):
        t = t.clone()
        dist.all_reduce(t)
        t /= dist.get_world_size()
    return t


def rank_within_class(labels: Tensor, score: Tensor, mask: Tensor,
                      num_classes: int) -> Tuple[Tensor, Tensor, Tensor]:
    """Rank of every masked pixel among the masked pixels of its class, by
    ascending ``score`` (0 = lowest; ties keep pixel order).

    Returns ``(index, rank, counts)``: flat indices of the masked pixels,
    their ranks, and the number of masked pixels per class. Vectorised: two
    stable sorts, no loop over classes or pixels.
    """
    index = mask.flatten().nonzero().squeeze(1)
    lab = labels.flatten()[index]
    order = torch.argsort(score.flatten()[index], stable=True)
    order = order[torch.argsort(lab[order], stable=True)]
    counts = torch.bincount(lab, minlength=num_classes)
    starts = counts.cumsum(0) - counts
    rank = torch.empty_like(order)
    rank[order] = torch.arange(len(order), device=order.device) - starts[
        lab[order]]
    return index, rank, counts


def _mask_from(index: Tensor, keep: Tensor, like: Tensor) -> Tensor:
    out = torch.zeros(like.numel(), dtype=torch.bool, device=like.device)
    out[index[keep]] = True
    return out.view_as(like)


class PseudoLabelFilter(nn.Module):
    """Base class: ``forward(batch) -> (N, H, W)`` bool mask or weights.

    Subclasses set :attr:`needs` (extra :class:`PseudoLabelBatch` fields
    they read) and :attr:`per_class` (their statistics are per class: the
    segmentor passes ``num_classes`` when it builds them).
    """
    needs: Tuple[str, ...] = ()
    per_class: bool = False

    def forward(self, batch: PseudoLabelBatch) -> Tensor:
        raise NotImplementedError

    def check_batch(self, batch: PseudoLabelBatch) -> None:
        for name in self.needs:
            if getattr(batch, name) is None:
                raise ValueError(
                    f'{type(self).__name__} needs {name!r} in the pseudo-label'
                    ' batch, which the method did not provide')

    def thresholds(self) -> Optional[Tensor]:
        """Current per-class thresholds, if the filter has them (logged by
        the health hook)."""
        return None

    def score(self, batch: PseudoLabelBatch) -> Optional[Tensor]:
        """(N, H, W) per-pixel score in [0, 1] the filter decides on, when
        it is not the teacher's confidence (``ELNFilter``: the network's
        probability that the pseudo-label is right); drawn in the probe
        pictures. ``None`` by default."""
        return None

    def decide(self, batch: PseudoLabelBatch, with_score: bool = False
               ) -> Tuple[Tensor, Optional[Tensor]]:
        """The filter's mask (or weights) and, with ``with_score``, its
        :meth:`score` (for the health hook's probe and its pictures). A
        filter that thresholds its own score overrides this to compute the
        score once for both."""
        return self(batch), self.score(batch) if with_score else None


@MODELS.register_module()
class ConfidenceFilter(PseudoLabelFilter):
    """Accept pixels whose confidence is at least ``threshold`` (FixMatch;
    UniMatch uses 0.95 on VOC and 0 on Cityscapes)."""

    def __init__(self, threshold: float = 0.95) -> None:
        super().__init__()
        if not 0.0 <= threshold <= 1.0:
            raise ValueError('ConfidenceFilter: threshold must be in [0, 1], '
                             f'got {threshold}')
        self.threshold = float(threshold)

    def forward(self, batch: PseudoLabelBatch) -> Tensor:
        return batch.confidence >= self.threshold


class _RunningClassFilter(PseudoLabelFilter):
    """A filter keeping a debiased EMA of per-class statistics."""
    per_class = True

    def __init__(self, num_classes: int, momentum: float) -> None:
        super().__init__()
        if not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f'{type(self).__name__}: num_classes must be an '
                             f'int >= 2, got {num_classes!r}')
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f'{type(self).__name__}: momentum must be in '
                             f'[0, 1), got {momentum}')
        self.num_classes = num_classes
        self.momentum = float(momentum)
        self.register_buffer('running', torch.zeros(num_classes))
        self.register_buffer('updates', torch.zeros((), dtype=torch.long))

    def update(self, value: Tensor) -> None:
        value = _all_reduce_mean(value.detach().float())
        self.running.mul_(self.momentum).add_(value, alpha=1 - self.momentum)
        self.updates += 1

    def estimate(self) -> Tensor:
        """The running value, corrected for its zero start (Adam-style)."""
        if int(self.updates) == 0:
            return self.running
        return self.running / (1 - self.momentum**int(self.updates))


@MODELS.register_module()
class ClassAdaptiveThreshold(_RunningClassFilter):
    """Per-class thresholds that follow how well each class is learnt
    (FlexMatch, Zhang et al., NeurIPS 2021, with pixels as samples).

    Each class's *learning effect* ``sigma_c`` is the running share of image
    pixels predicted as ``c`` with confidence >= ``threshold``; with
    ``beta_c = sigma_c / max(max_c sigma_c, unused)`` (``unused``: the share
    of pixels below ``threshold``, FlexMatch's warm-up; without warm-up the
    denominator is ``max_c sigma_c``), class ``c`` is accepted at
    ``threshold * M(beta_c)``, ``M(x) = x / (2 - x)`` (``mapping='convex'``)
    or ``x`` (``'linear'``). The best-learnt class (usually background)
    keeps the full threshold; rare or hard classes are accepted at lower
    confidence, so they are not starved.

    Args:
        threshold: the upper threshold tau.
        momentum: EMA momentum of the learning effects (per iteration).
        warmup: FlexMatch's threshold warm-up.
        mapping: ``'convex'`` or ``'linear'``.
        num_classes: filled in by the segmentor.
    """

    def __init__(self,
                 num_classes: int,
                 threshold: float = 0.95,
                 momentum: float = 0.99,
                 warmup: bool = True,
                 mapping: str = 'convex') -> None:
        super().__init__(num_classes, momentum)
        if not 0.0 < threshold <= 1.0:
            raise ValueError('ClassAdaptiveThreshold: threshold must be in '
                             f'(0, 1], got {threshold}')
        if mapping not in ('convex', 'linear'):
            raise ValueError("ClassAdaptiveThreshold: mapping must be "
                             f"'convex' or 'linear', got {mapping!r}")
        self.threshold = float(threshold)
        self.warmup = bool(warmup)
        self.mapping = mapping

    def thresholds(self) -> Tensor:
        sigma = self.estimate()
        norm = sigma.max()
        if self.warmup:
            norm = torch.maximum(norm, (1 - sigma.sum()).clamp(min=0))
        beta = sigma / norm if float(norm) > 0 else torch.zeros_like(sigma)
        if self.mapping == 'convex':
            beta = beta / (2 - beta)
        return self.threshold * beta

    def forward(self, batch: PseudoLabelBatch) -> Tensor:
        if self.training:
            confident = (batch.confidence >= self.threshold) & batch.valid
            counts = torch.bincount(
                batch.labels[confident], minlength=self.num_classes)
            self.update(counts / batch.valid.sum().clamp(min=1))
        thr = self.thresholds().to(batch.confidence.dtype)
        return batch.confidence >= thr[batch.labels]


@MODELS.register_module()
class ClassBalancedFilter(_RunningClassFilter):
    """Cap each pseudo-class's share of the accepted pixels by the labelled
    set's class frequencies, so one class (usually background) cannot take
    over the pseudo-labels.

    Of the image pixels with confidence >= ``threshold``, class ``c`` keeps
    at most ``ceil(cap * f_c * V)`` (its most confident ones), with ``V``
    the batch's image pixels and ``f_c`` the labelled pixel frequency of
    ``c``: a running estimate from each iteration's labelled masks, or
    ``class_freq`` if given.

    Args:
        threshold: confidence a pixel needs before the caps apply.
        cap: how far above its labelled frequency a class may go.
        momentum: EMA momentum of the labelled frequencies.
        class_freq: fixed frequencies (one per class, summing to 1), e.g.
            counted over the labelled split beforehand.
        num_classes: filled in by the segmentor.
    """

    def __init__(self,
                 num_classes: int,
                 threshold: float = 0.0,
                 cap: float = 1.0,
                 momentum: float = 0.99,
                 class_freq: Optional[Sequence[float]] = None) -> None:
        super().__init__(num_classes, momentum)
        if not 0.0 <= threshold <= 1.0:
            raise ValueError('ClassBalancedFilter: threshold must be in '
                             f'[0, 1], got {threshold}')
        if cap <= 0:
            raise ValueError(f'ClassBalancedFilter: cap must be > 0, got '
                             f'{cap}')
        self.threshold = float(threshold)
        self.cap = float(cap)
        self.fixed = class_freq is not None
        if self.fixed:
            freq = torch.as_tensor(class_freq, dtype=torch.float)
            if freq.shape != (num_classes, ) or (freq < 0).any() or abs(
                    float(freq.sum()) - 1) > 1e-3:
                raise ValueError(
                    f'ClassBalancedFilter: class_freq must hold '
                    f'{num_classes} non-negative frequencies summing to 1, '
                    f'got {list(class_freq)}')
            self.running.copy_(freq)
        else:
            self.needs = ('labelled', )

    def estimate(self) -> Tensor:
        return self.running if self.fixed else super().estimate()

    def forward(self, batch: PseudoLabelBatch) -> Tensor:
        if self.training and not self.fixed:  # eval: the stored estimate
            self.check_batch(batch)
            lab = batch.labelled
            lab = lab[(lab != batch.ignore_index) & (lab >= 0) &
                      (lab < self.num_classes)]
            if lab.numel():
                counts = torch.bincount(lab, minlength=self.num_classes)
                self.update(counts / lab.numel())
        candidates = (batch.confidence >= self.threshold) & batch.valid
        index, rank, _ = rank_within_class(batch.labels, -batch.confidence,
                                           candidates, self.num_classes)
        allowed = torch.ceil(self.cap * self.estimate().to(
            batch.confidence.device) * batch.valid.sum())
        keep = rank < allowed[batch.labels.flatten()[index]]
        return _mask_from(index, keep, batch.labels)


def _current_progress() -> float:
    """Training progress t / T in [0, 1] from MMEngine's message hub (0
    when no runner is running)."""
    from mmengine.logging import MessageHub
    hub = MessageHub.get_current_instance()
    it, total = hub.get_info('iter', 0), hub.get_info('max_iters', 0)
    return min(max(it / total, 0.0), 1.0) if total else 0.0


@MODELS.register_module()
class EntropyRankFilter(PseudoLabelFilter):
    """Keep the lowest-entropy share of each pseudo-class (U2PL, Wang et
    al., CVPR 2022: the highest-entropy pixels are unreliable).

    Of the image pixels of pseudo-class ``c``, the ``ceil(keep * n_c)``
    with the lowest prediction entropy are accepted. With ``anneal`` the
    dropped share ``1 - keep`` shrinks linearly to 0 over training, as
    U2PL's ``alpha_t = alpha_0 (1 - t / T)``.

    Args:
        keep: share of each class kept at the start (U2PL: 0.8).
        anneal: let the kept share grow to 1 by the end of training.
        num_classes: filled in by the segmentor.
    """
    per_class = True

    def __init__(self, num_classes: int, keep: float = 0.8,
                 anneal: bool = True) -> None:
        super().__init__()
        if not 0.0 < keep <= 1.0:
            raise ValueError(f'EntropyRankFilter: keep must be in (0, 1], '
                             f'got {keep}')
        self.num_classes = num_classes
        self.keep = float(keep)
        self.anneal = bool(anneal)

    def current_keep(self) -> float:
        if not self.anneal:
            return self.keep
        return 1.0 - (1.0 - self.keep) * (1.0 - _current_progress())

    def forward(self, batch: PseudoLabelBatch) -> Tensor:
        p = batch.probs
        entropy = -(p * torch.log(p.clamp(min=1e-12))).sum(dim=1)
        index, rank, counts = rank_within_class(batch.labels, entropy,
                                                batch.valid, self.num_classes)
        allowed = torch.ceil(self.current_keep() * counts.to(entropy.dtype))
        keep = rank < allowed[batch.labels.flatten()[index]]
        return _mask_from(index, keep, batch.labels)


@MODELS.register_module()
class SoftConfidenceWeight(PseudoLabelFilter):
    """Weights instead of a hard mask (SoftMatch, Chen et al., ICLR 2023):
    weight 1 at confidence >= mu, else ``exp(-(conf - mu)^2 / (2 (width *
    sigma)^2))``, with ``mu`` and ``sigma^2`` running estimates of the mean
    and variance of the image pixels' confidence (starting from 1/C and 1,
    as SoftMatch).

    Args:
        momentum: EMA momentum of mu and sigma^2 (SoftMatch: 0.999).
        width: scales sigma (wider: more weight below mu).
    """

    def __init__(self, momentum: float = 0.999, width: float = 1.0) -> None:
        super().__init__()
        if not 0.0 <= momentum < 1.0 or width <= 0:
            raise ValueError('SoftConfidenceWeight: momentum must be in '
                             f'[0, 1) and width > 0, got {momentum}, {width}')
        self.momentum = float(momentum)
        self.width = float(width)
        self.register_buffer('mu', torch.tensor(-1.0))  # -1: not started
        self.register_buffer('var', torch.tensor(1.0))

    def forward(self, batch: PseudoLabelBatch) -> Tensor:
        conf = batch.confidence
        if self.training:
            values = conf[batch.valid].detach().float()
            if values.numel():
                stats = _all_reduce_mean(
                    torch.stack([values.mean(),
                                 values.var(unbiased=False)]))
                if float(self.mu) < 0:
                    self.mu.fill_(1.0 / batch.num_classes)
                m = self.momentum
                self.mu.mul_(m).add_(stats[0], alpha=1 - m)
                self.var.mul_(m).add_(stats[1], alpha=1 - m)
        mu = self.mu.clamp(min=0).to(conf.dtype)
        sigma2 = (self.width**2) * self.var.clamp(min=1e-12).to(conf.dtype)
        weight = torch.exp(-(conf - mu)**2 / (2 * sigma2))
        return torch.where(conf >= mu, torch.ones_like(weight), weight)


def build_filter(cfg: Union[dict, nn.Module, None], num_classes: int,
                 owner: str) -> Optional[PseudoLabelFilter]:
    """Build a ``pseudo_label_filter`` config for a segmentor, filling in
    ``num_classes`` for per-class filters; errors name the owner's key."""
    if cfg is None or isinstance(cfg, nn.Module):
        return cfg
    cfg = dict(cfg)
    kind = cfg.get('type')
    cls = MODELS.get(kind) if isinstance(kind, str) else kind
    if cls is None:
        raise KeyError(f'{owner}: pseudo_label_filter type {kind!r} is not '
                       'registered (ConfidenceFilter, ClassAdaptiveThreshold, '
                       'ClassBalancedFilter, EntropyRankFilter, '
                       'SoftConfidenceWeight, ELNFilter, or your own)')
    if not (isinstance(cls, type) and issubclass(cls, PseudoLabelFilter)):
        raise TypeError(f'{owner}: pseudo_label_filter {kind!r} is not a '
                        'PseudoLabelFilter')
    if cls.per_class:
        cfg.setdefault('num_classes', num_classes)
    try:
        return MODELS.build(cfg)
    except TypeError as e:  # an unknown key
        raise TypeError(f'{owner}: pseudo_label_filter={cfg}: {e}') from None


def accepted_share(accept: Tensor, valid: Tensor) -> Tensor:
    """Share of image pixels accepted (weights count fractionally)."""
    valid = valid.to(torch.float)
    return (accept.to(torch.float) * valid).sum() / valid.sum().clamp(min=1)


def masked_by(accept: Tensor, valid: Tensor) -> Tensor:
    """``accept`` restricted to image pixels, keeping its kind (bool mask
    or float weights)."""
    return accept & valid if accept.dtype == torch.bool else accept * valid


__all__ = [
    'PseudoLabelBatch', 'PseudoLabelFilter', 'ConfidenceFilter',
    'ClassAdaptiveThreshold', 'ClassBalancedFilter', 'EntropyRankFilter',
    'SoftConfidenceWeight', 'build_filter', 'rank_within_class',
    'accepted_share', 'masked_by'
]
