"""Training with several optimisers: one iteration, several steps.

GCT steps its task models, then its flaw detector; AdaptSegNet and ADVENT
step the segmenter with the discriminators frozen, then the
discriminators on the segmenter's detached outputs. A method declares its
steps; :class:`MultiOptimMixin` runs them::

    class MyGAN(MultiOptimMixin, SemiBaseSegmentor):
        def optim_steps(self):
            return (OptimStep('segmenter', self.segmenter_losses,
                              frozen=('discriminator', )),
                    OptimStep('discriminator', self.discriminator_losses))

        def segmenter_losses(self, batch, carry):
            ...                          # batch: preprocessed data
            carry['outputs'] = outputs.detach()
            return losses

        def discriminator_losses(self, batch, carry):
            return {...carry['outputs']...}

Each step computes its losses inside its optimiser's ``optim_context``
with its ``frozen`` sub-models' parameters frozen (no gradient reaches
them), parses them with ``parse_losses`` (so ``FiniteLossHook`` checks
every step) and applies ``update_params``: backward, step, zero_grad.
``carry`` hands what a step produced (detached outputs) to the later
steps of the same iteration, so no network runs twice. The optimisers come
as an ``OptimWrapperDict`` keyed by the steps' ``optimizer`` names (built
by ``MultiOptimWrapperConstructor``); their schedulers are keyed the same
way and MMEngine saves and resumes all of them.
"""
from typing import Callable, Dict, NamedTuple, Optional, Sequence, Tuple

from mmengine.optim import OptimWrapperDict
from torch import Tensor

from ..utils.params import frozen_params

#: ``losses(batch, carry) -> dict`` of one step
StepLosses = Callable[[Optional[dict], dict], Dict[str, Tensor]]


class OptimStep(NamedTuple):
    """One optimiser step of an iteration.

    Args:
        optimizer: the ``OptimWrapperDict`` key of the optimiser it applies.
        losses: ``fn(batch, carry) -> losses``; ``batch`` is the
            preprocessed data (``inputs``/``data_samples``), ``carry`` a dict
            shared by the iteration's steps.
        frozen: attribute names of the sub-models whose parameters are
            frozen while the losses are computed.
    """
    optimizer: str
    losses: StepLosses
    frozen: Tuple[str, ...] = ()


class MultiOptimMixin:
    """``train_step`` for models trained by several optimisers.

    Subclasses implement :meth:`optim_steps`; :meth:`optim_wrapper_hint`
    may say how the optimisers are configured. The log variables of the
    iteration are those of every step; ``loss`` is the first step's total
    (the other steps' totals are in their own ``*.loss_*`` keys).
    """

    def optim_steps(self) -> Sequence[OptimStep]:
        raise NotImplementedError(
            f'{type(self).__name__} must declare its optimiser steps '
            '(optim_steps)')

    def optim_wrapper_hint(self) -> str:
        """How the optimiser entries are configured, for the error raised
        when one is missing."""
        return ("build them with constructor='MultiOptimWrapperConstructor' "
                'and one entry per optimiser (modules=...)')

    def check_optim_wrapper(self, optim_wrapper) -> None:
        needed = [s.optimizer for s in self.optim_steps()]
        if isinstance(optim_wrapper, OptimWrapperDict) and set(needed) <= set(
                optim_wrapper.keys()):
            return
        got = (sorted(optim_wrapper.keys()) if isinstance(
            optim_wrapper, OptimWrapperDict) else type(optim_wrapper).__name__)
        raise TypeError(
            f'{type(self).__name__} trains with {len(set(needed))} '
            f'optimisers: optim_wrapper needs the entries '
            f"{', '.join(repr(n) for n in dict.fromkeys(needed))} "
            f'({self.optim_wrapper_hint()}); got {got}')

    def run_optim_step(self,
                       step: OptimStep,
                       batch: Optional[dict],
                       carry: dict,
                       optim_wrapper: OptimWrapperDict,
                       keep_total: bool = True) -> Dict[str, Tensor]:
        """Compute ``step``'s losses and apply its optimiser; returns the
        log variables (without ``loss`` unless ``keep_total``)."""
        wrapper = optim_wrapper[step.optimizer]
        frozen = [getattr(self, name) for name in step.frozen]
        with wrapper.optim_context(self), frozen_params(*frozen):
            losses = step.losses(batch, carry)
        loss, log_vars = self.parse_losses(losses)
        wrapper.update_params(loss)
        if not keep_total:
            log_vars.pop('loss')
        return log_vars

    def stage_steps(self) -> Sequence[OptimStep]:
        """The steps of the current training stage: those whose optimiser
        the stage names (every step without stages, or when the stage names
        none)."""
        steps = self.optim_steps()
        # models outside SemiBaseSegmentor have no stages
        sync = getattr(self, 'sync_stage', None)
        stage = sync() if sync is not None else None
        if stage is None or stage.optimizers is None:
            return steps
        return [s for s in steps if s.optimizer in stage.optimizers]

    def train_step(self, data, optim_wrapper) -> Dict[str, Tensor]:
        """One iteration: the data preprocessed once, then every step of
        the current stage (:meth:`stage_steps`) in order."""
        self.check_optim_wrapper(optim_wrapper)
        # the stage's branches only (SemiBaseSegmentor.stage_batch)
        stage_batch = getattr(self, 'stage_batch', None)
        if stage_batch is not None:
            data = stage_batch(data)
        batch = self.data_preprocessor(data, training=True)
        carry: dict = {}
        log_vars: Dict[str, Tensor] = {}
        for i, step in enumerate(self.stage_steps()):
            log_vars.update(
                self.run_optim_step(step, batch, carry, optim_wrapper,
                                    keep_total=i == 0))
        return log_vars
