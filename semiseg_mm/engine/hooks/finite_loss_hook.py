"""Stop, or skip, an optimiser step whose loss is not finite.

A diverging run (learning rate too high, a loss that overflows) goes on
training with ``nan`` losses unless something stops it: MMEngine saves the
NaN weights, an EMA teacher averages them in, and validation still prints a
number. :class:`FiniteLossHook` checks every optimiser step of every method
*before* it is applied: it wraps the model's ``parse_losses``, which every
``train_step`` calls between the forward pass and
``optim_wrapper.update_params`` (MMEngine's ``BaseModel`` and DDP wrappers,
and methods with several optimisers, such as GCT's task and flaw-detector
steps, call it once per step). After the iteration's steps, before the EMA
and checkpoint hooks run, it checks the weights and floating-point buffers
too: a forward pass with huge activations can overflow BatchNorm's running
variance to ``inf`` while the training loss, computed with batch
statistics, is still finite (seen with lr 1e10: loss 5.5e20 at iteration 2,
running variances already ``inf``), and an overflowing gradient can come
from a finite loss.

``action='stop'`` (default) raises :class:`NonFiniteLossError` naming the
iteration and every non-finite ``loss*`` key (or tensor); nothing
non-finite is applied, averaged into an EMA teacher or saved.
``action='skip'`` drops a step whose loss is non-finite instead (no
backward, no optimiser step), logs it, reports ``nonfinite_skipped`` (1 for
a skipped step, 0 otherwise) with the losses, and stops after
``max_consecutive_skips`` in a row; non-finite buffers or weights cannot be
undone by a skip and stop the run in either mode.

In distributed runs the ranks agree (one all-reduce of a flag per step), so
they stop or skip together. Per step the check costs one device-to-host
read of the total loss, which MMEngine's logging makes anyway; per
iteration one fused max-abs pass over the weights and buffers.
"""
import logging
import math
from typing import Dict, List, Sequence, Tuple

import torch
import torch.distributed as dist
from mmengine.hooks import Hook
from mmengine.logging import print_log

from semiseg_mm.models.wrappers import unwrap
from semiseg_mm.registry import HOOKS

ACTIONS = ('stop', 'skip')
Named = List[Tuple[str, torch.Tensor]]


class NonFiniteLossError(RuntimeError):
    """Training produced a non-finite loss, buffer or weight."""


class _SkippedStep(Exception):
    """Raised inside ``train_step`` to drop a step (``action='skip'``)."""

    def __init__(self, bad: Dict[str, float]):
        super().__init__()
        self.bad = bad


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and (
        dist.get_world_size() > 1)


def all_finite(tensors: Sequence[torch.Tensor]) -> bool:
    """Whether every element of every tensor is finite.

    One fused L2-norm pass over the list (``torch._foreach_norm``'s fast
    path, on CPU and GPU); a norm that is not finite means a non-finite
    element, or finite ones so large that the squares overflow, which only
    then an exact per-tensor check tells apart.
    """
    tensors = [t for t in tensors if t.numel()]
    if not tensors or bool(
            torch.isfinite(torch.stack(torch._foreach_norm(tensors))).all()):
        return True
    return all(bool(torch.isfinite(t).all()) for t in tensors)


def _nonfinite_names(named: Named) -> List[str]:
    return [n for n, t in named if not bool(torch.isfinite(t).all())]


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Guard every optimiser step against non-finite losses.

    Args:
        action: ``'stop'`` raises :class:`NonFiniteLossError` at the first
            non-finite loss; ``'skip'`` drops such steps and trains on.
        max_consecutive_skips: with ``'skip'``, stop when this many steps in
            a row were non-finite (the run has diverged, not hit a bad
            batch).
    """
    priority = 'VERY_HIGH'  # after_train_iter before the EMA/checkpoint hooks

    def __init__(self,
                 action: str = 'stop',
                 max_consecutive_skips: int = 10) -> None:
        if action not in ACTIONS:
            raise ValueError(
                f'FiniteLossHook: action must be one of {ACTIONS}, got '
                f'{action!r}')
        if max_consecutive_skips < 1:
            raise ValueError('FiniteLossHook: max_consecutive_skips must be '
                             f'>= 1, got {max_consecutive_skips}')
        self.action = action
        self.max_consecutive_skips = max_consecutive_skips
        self.skips_in_a_row = 0
        self.skips = 0
        self._patched = []
        self._tensors: Named = []  # weights and floating-point buffers
        self._tensor_list: List[torch.Tensor] = []

    # ------------------------------------------------------------------ #
    def before_train(self, runner) -> None:
        model = unwrap(runner.model)
        # the runner loads checkpoints in place, so these stay valid
        self._tensors = [(n, p.detach())
                         for n, p in model.named_parameters()] + [
                             (n, b) for n, b in model.named_buffers()
                             if b.is_floating_point()
                         ]
        self._tensor_list = [t for _, t in self._tensors]
        parse_losses = model.parse_losses

        def guarded_parse_losses(losses):
            loss, log_vars = parse_losses(losses)
            self.check(runner, loss, log_vars)
            return loss, log_vars

        self._patch(model, 'parse_losses', guarded_parse_losses)
        if self.action == 'skip':
            outer = runner.model
            train_step = outer.train_step

            def guarded_train_step(data, optim_wrapper):
                try:
                    outputs = train_step(data, optim_wrapper=optim_wrapper)
                except _SkippedStep as skip:
                    return self._skipped(runner, skip.bad)
                self.skips_in_a_row = 0
                outputs['nonfinite_skipped'] = 0.0
                return outputs

            self._patch(outer, 'train_step', guarded_train_step)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if all_finite(self._tensor_list):
            return
        raise self._error(
            runner, 'non-finite weights or buffers after the iteration\'s '
            'steps, although every loss was finite: '
            f'{_nonfinite_names(self._tensors)[:3]} (BatchNorm statistics '
            'overflowing in the forward pass, or exploding gradients); '
            'training stopped before the EMA and checkpoint hooks ran, so '
            'neither holds them. Lower the learning rate or clip gradients '
            '(optim_wrapper.clip_grad=dict(max_norm=...)).')

    def after_train(self, runner) -> None:
        for obj, name, previous in reversed(self._patched):
            if previous is None:
                del obj.__dict__[name]
            else:
                obj.__dict__[name] = previous
        self._patched = []

    def _patch(self, obj, name: str, fn) -> None:
        # an instance attribute shadows the class's method
        self._patched.append((obj, name, obj.__dict__.get(name)))
        obj.__dict__[name] = fn

    # ------------------------------------------------------------------ #
    def check(self, runner, loss, log_vars: Dict[str, torch.Tensor]) -> None:
        """Raise (stop) or drop the step (skip) if ``loss`` is not finite;
        called by the wrapped ``parse_losses``."""
        value = loss.item() if isinstance(loss, torch.Tensor) else loss
        bad_step = not math.isfinite(value)  # one host read
        if _distributed():
            flag = torch.tensor([int(bad_step)],
                                device=torch.as_tensor(loss).device)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            bad_step = bool(flag)
        if not bad_step:
            return
        bad = {
            k: float(torch.as_tensor(v).detach().float().mean())
            for k, v in log_vars.items()
            if 'loss' in k and k != 'loss' and not bool(
                torch.isfinite(torch.as_tensor(v)).all())
        }
        if self.action == 'skip':
            raise _SkippedStep(bad)
        total = f' (total loss {value})' if bad else ''
        raise self._error(
            runner, f'{self._describe(bad)}{total}. Training stopped before '
            'this step was applied, so no checkpoint or EMA teacher holds '
            'its values. Usual causes: a learning rate too high '
            '(optim_wrapper.optimizer.lr), a loss weight too large, '
            'exploding gradients (optim_wrapper.clip_grad='
            'dict(max_norm=...)). To drop such steps instead, set '
            "default_hooks.finite_loss.action='skip'.")

    @staticmethod
    def _describe(bad: Dict[str, float]) -> str:
        if not bad:
            return 'a non-finite loss on another rank'
        return 'non-finite loss ' + ', '.join(f'{k}={v}'
                                             for k, v in bad.items())

    @staticmethod
    def _error(runner, what: str) -> NonFiniteLossError:
        msg = f'FiniteLossHook: iteration {runner.iter + 1}: {what}'
        print_log(msg, logger='current', level=logging.ERROR)
        return NonFiniteLossError(msg)

    def _skipped(self, runner, bad: Dict[str, float]) -> dict:
        self.skips += 1
        self.skips_in_a_row += 1
        if self.skips_in_a_row >= self.max_consecutive_skips:
            raise self._error(
                runner, f'{self.skips_in_a_row} steps in a row had a '
                f'non-finite loss ({self._describe(bad)}): the run has '
                'diverged; training stopped. Lower the learning rate or clip '
                'gradients (optim_wrapper.clip_grad).')
        runner.optim_wrapper.zero_grad()
        print_log(
            f'FiniteLossHook: iteration {runner.iter + 1}: '
            f'{self._describe(bad)}; step skipped ({self.skips_in_a_row} in '
            f'a row, {self.skips} in total; stops at '
            f'{self.max_consecutive_skips} in a row)',
            logger='current',
            level=logging.WARNING)
        return {'nonfinite_skipped': 1.0}
