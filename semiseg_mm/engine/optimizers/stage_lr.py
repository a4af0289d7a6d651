"""Learning-rate decay that restarts at each training stage.

MMEngine's ``PolyLR`` is chained: each step multiplies the *current* learning
rate by a factor. Placed after a stage whose schedule decayed the rate to
``eta_min`` (0), a second ``PolyLR`` would keep it there. ``StagePolyLR``
computes the rate in closed form from the optimiser's configured rate
(``initial_lr``), so each stage of a staged method decays from its own
start::

    param_scheduler = [
        dict(type='StagePolyLR', begin=0, end=2000, by_epoch=False),
        dict(type='StagePolyLR', begin=2000, end=4000, by_epoch=False),
        dict(type='StagePolyLR', begin=4000, end=20000, by_epoch=False,
             start_factor=0.1),
    ]

It sets the rate outright: do not combine it with another scheduler active
over the same iterations.
"""
from mmengine.optim import PolyLR

from semiseg_mm.registry import PARAM_SCHEDULERS


@PARAM_SCHEDULERS.register_module()
class StagePolyLR(PolyLR):
    """``lr = eta_min + (start_factor * initial_lr - eta_min) * (1 - t / T)
    ** power`` for the ``t``-th step of ``[begin, end)``, ``T = end - begin
    - 1`` (MMEngine's ``PolyLR`` count), whatever rate the previous stage
    left.

    Args:
        start_factor: the stage's starting rate as a multiple of each
            parameter group's configured rate (``initial_lr``, which keeps
            the groups' ``lr_mult``).
        eta_min, power, begin, end, by_epoch: as ``PolyLR``.
    """

    def __init__(self, optimizer, start_factor: float = 1.0, **kwargs):
        if start_factor <= 0:
            raise ValueError(f'start_factor must be > 0, got {start_factor}')
        self.start_factor = float(start_factor)
        super().__init__(optimizer, **kwargs)

    def _get_value(self):
        total = max(self.total_iters, 1)
        t = min(self.last_step, total)
        return [(base * self.start_factor - self.eta_min) *
                (1 - t / total)**self.power + self.eta_min
                for base in self.base_values]
