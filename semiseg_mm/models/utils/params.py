"""Parameter helpers shared by methods that train several networks.

* :func:`frozen_params`: run a computation with some networks' parameters
  frozen, so that a loss flowing *through* them (GCT's flaw correction
  through the flaw detector, UDA's adversarial loss through the
  discriminators) reaches only the network in front of them. The official
  AdaptSegNet and ADVENT training loops do this by toggling
  ``requires_grad`` around the segmenter's step; GCT (PixelSSL) around the
  detector call.
* :func:`call_through_wrapper`: run a custom computation as the forward
  pass of a DDP-wrapped sub-model, so that DDP synchronises its gradients.
"""
import contextlib
import functools
from typing import Callable, Iterator

import torch.nn as nn
from mmengine.model import is_model_wrapper

from ..wrappers import unwrap


@contextlib.contextmanager
def frozen_params(*modules: nn.Module) -> Iterator[None]:
    """Inside the block the parameters of ``modules`` (or of the modules
    inside their DDP wrappers) do not require gradients; afterwards each
    parameter's own ``requires_grad`` is restored, so parameters that were
    frozen before (an EMA teacher's) stay frozen.

    Only the forward pass needs to be inside: autograd records at forward
    time which leaves need gradients, so a ``backward()`` after the block
    still leaves these parameters' ``.grad`` untouched.
    """
    params = [p for m in modules for p in unwrap(m).parameters()]
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad_(flag)


def call_through_wrapper(module: nn.Module, fn: Callable, *args, **kwargs):
    """Run ``fn(inner, *args, **kwargs)`` as the forward pass of ``module``.

    ``inner`` is the module inside a DDP-style wrapper. DDP synchronises
    gradients only of computations that went through its ``forward``;
    sub-models wrapped one by one
    (``SeparateDistributedDataParallel``) but run through helpers such as
    :func:`~semiseg_mm.models.utils.joint_forward` rather than their own
    ``forward()`` go through this. Without a wrapper ``fn`` is simply
    called.
    """
    if not is_model_wrapper(module):
        return fn(module, *args, **kwargs)
    inner = unwrap(module)
    # an instance attribute shadows the class's forward for this call only
    inner.forward = functools.partial(fn, inner)
    try:
        return module(*args, **kwargs)
    finally:
        del inner.forward


@contextlib.contextmanager
def batch_norm_statistics(*modules: nn.Module) -> Iterator[None]:
    """Inside the block the BatchNorm layers of ``modules`` normalise by
    the statistics of the batch they see (training-mode BatchNorm) while
    the rest of each module stays in its mode; their running statistics are
    left as they were. DACS's official teacher predicts this way: an EMA
    model in training mode, each target batch normalised by its own
    statistics."""
    from torch.nn.modules.batchnorm import _BatchNorm
    norms = [m for mod in modules for m in mod.modules()
             if isinstance(m, _BatchNorm)]
    saved = [(m.training, {k: b.clone() for k, b in m.named_buffers(
        recurse=False)}) for m in norms]
    for m in norms:
        m.train()
    try:
        yield
    finally:
        for m, (mode, buffers) in zip(norms, saved):
            m.train(mode)
            for k, b in buffers.items():
                getattr(m, k).copy_(b)
