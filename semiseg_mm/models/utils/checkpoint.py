"""Activation checkpointing that leaves batch-norm statistics as they are.

``torch.utils.checkpoint`` keeps only a segment's inputs in the forward pass
and runs the segment again during the backward pass to get the activations
its gradient needs: memory for time (one more forward of the segment). A
plain re-run would update every batch-norm layer's running statistics a
second time with the same batch (mmseg's ``with_cp`` backbones do), so here
the re-run holds them still: the trained weights and running statistics
are those of the same model without checkpointing (up to float rounding).
"""
import contextlib
from typing import Callable, Iterator

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint


@contextlib.contextmanager
def frozen_running_stats(module: nn.Module) -> Iterator[None]:
    """Batch norms in ``module`` normalise with the batch's statistics as
    usual but do not fold them into their running statistics (momentum 0
    while inside; the counter of batches seen is restored too)."""
    norms = [m for m in module.modules()
             if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [(m.momentum, None if m.num_batches_tracked is None else
              m.num_batches_tracked.clone()) for m in norms]
    for m in norms:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, (momentum, tracked) in zip(norms, saved):
            m.momentum = momentum
            if tracked is not None:
                m.num_batches_tracked.copy_(tracked)


def needs_grad(module: nn.Module, *inputs: torch.Tensor) -> bool:
    """Whether a forward pass of ``module`` on ``inputs`` builds a graph
    (grad mode on, and a trainable parameter or an input needing grad)."""
    return torch.is_grad_enabled() and (
        any(p.requires_grad for p in module.parameters())
        or any(isinstance(x, torch.Tensor) and x.requires_grad
               for x in inputs))


def checkpointed(module: nn.Module, fn: Callable, *inputs):
    """``fn(*inputs)``, the work of ``module``, with its activations
    recomputed in the backward pass instead of kept (see module); a plain
    call where no graph is built."""
    if not needs_grad(module, *inputs):
        return fn(*inputs)
    return checkpoint(
        fn, *inputs, use_reentrant=False,
        context_fn=lambda: (contextlib.nullcontext(),
                            frozen_running_stats(module)))
