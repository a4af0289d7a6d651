"""Loss-weight ramp-ups, shared by every method that ramps a weight.

``RampUp(kind, rampup_iters, start_iters)(it)`` is 0 before ``start_iters``,
rises to 1 over ``rampup_iters`` iterations along the chosen curve, and
stays 1 afterwards:

* ``sigmoid``: ``exp(-5 (1 - t)^2)`` (Laine & Aila; Mean Teacher, GCT),
* ``linear``: ``t``,
* ``cosine``: ``(1 - cos(pi t)) / 2``,
* ``constant``: 1 from ``start_iters`` on (no ramp),

with ``t = clip((it - start_iters) / rampup_iters, 0, 1)``.
"""
import math
from typing import Callable, Dict, Optional, Union

from mmengine.logging import MessageHub


def sigmoid_rampup(t: float) -> float:
    t = min(max(t, 0.0), 1.0)
    return math.exp(-5.0 * (1.0 - t)**2)


def linear_rampup(t: float) -> float:
    return min(max(t, 0.0), 1.0)


def cosine_rampup(t: float) -> float:
    t = min(max(t, 0.0), 1.0)
    return 0.5 * (1.0 - math.cos(math.pi * t))


CURVES: Dict[str, Callable[[float], float]] = dict(
    sigmoid=sigmoid_rampup,
    linear=linear_rampup,
    cosine=cosine_rampup,
    constant=lambda t: 1.0)


class RampUp:
    """A weight schedule in [0, 1] over training iterations.

    Args:
        kind: ``sigmoid``, ``linear``, ``cosine`` or ``constant``.
        rampup_iters: length of the rise (ignored by ``constant``).
        start_iters: iterations at weight 0 before the rise starts (e.g. a
            supervised warm-up).
    """

    def __init__(self,
                 kind: str = 'sigmoid',
                 rampup_iters: int = 0,
                 start_iters: int = 0) -> None:
        if kind not in CURVES:
            raise ValueError(
                f'ramp-up kind must be one of {sorted(CURVES)}, got {kind!r}')
        if rampup_iters < 0 or start_iters < 0:
            raise ValueError('rampup_iters and start_iters must be >= 0, got '
                             f'{rampup_iters}, {start_iters}')
        self.kind = kind
        self.rampup_iters = rampup_iters
        self.start_iters = start_iters

    def __call__(self, it: Optional[int] = None) -> float:
        """Weight at iteration ``it`` (default: the runner's current one)."""
        if it is None:
            it = current_iter()
        if it < self.start_iters:
            return 0.0
        if self.kind == 'constant' or self.rampup_iters == 0:
            return 1.0
        return CURVES[self.kind]((it - self.start_iters) / self.rampup_iters)

    def __repr__(self) -> str:
        return (f'RampUp(kind={self.kind!r}, rampup_iters='
                f'{self.rampup_iters}, start_iters={self.start_iters})')


def build_rampup(cfg: Union[None, dict, RampUp]) -> RampUp:
    """``None`` -> constant 1; a dict -> ``RampUp(**cfg)``."""
    if cfg is None:
        return RampUp('constant')
    if isinstance(cfg, RampUp):
        return cfg
    return RampUp(**cfg)


def current_iter() -> int:
    """The training iteration MMEngine's RuntimeInfoHook recorded (0 outside
    a runner)."""
    hub = MessageHub.get_current_instance()
    return int(hub.get_info('iter', 0) or 0)
