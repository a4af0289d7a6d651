"""Model wrappers: :func:`unwrap`, and distributed wrappers for models
trained with several optimisers."""
import functools
from typing import Sequence

import torch.nn as nn
from mmengine.model import MMSeparateDistributedDataParallel, is_model_wrapper
# MMEngine's Runner looks model_wrapper_cfg.type up with the root registry's
# get(), which ignores the default scope: a wrapper registered in our scope
# only would not be found by its bare name
from mmengine.registry import MODEL_WRAPPERS


def unwrap(module: nn.Module) -> nn.Module:
    """The module inside a (possibly nested) DDP-style wrapper."""
    while is_model_wrapper(module):
        module = module.module
    return module


def _strip_wrapper_keys(names: Sequence[str], module: nn.Module,
                        state_dict: dict, prefix: str,
                        local_metadata: dict) -> None:
    """State-dict post-hook: ``<name>.module.<key>`` -> ``<name>.<key>`` for
    the wrapped sub-modules ``names``."""
    for name in names:
        old, new = f'{prefix}{name}.module', f'{prefix}{name}'
        for key in [k for k in state_dict if k.startswith(old + '.')]:
            state_dict[new + key[len(old):]] = state_dict.pop(key)
        meta = getattr(state_dict, '_metadata', None)
        if meta is not None:
            for key in [k for k in meta if k == old or k.startswith(old +
                                                                     '.')]:
                meta[new + key[len(old):]] = meta.pop(key)


@MODEL_WRAPPERS.register_module()
class SeparateDistributedDataParallel(MMSeparateDistributedDataParallel):
    """MMEngine's ``MMSeparateDistributedDataParallel`` (one DDP per
    trainable sub-module, for models such as GCT that step their
    sub-models with separate backward passes), fixed for our models:

    * sub-modules without trainable parameters stay as they are. MMEngine
      replaces each by the return value of its ``.to(device)``, and mmdet's
      ``MultiBranchDataPreprocessor.to()`` returns its *inner*
      preprocessor, so the model would lose its multi-branch batching (a
      2-process run then fails inside ``SegDataPreProcessor`` with
      ``KeyError: 0``);
    * checkpoints keep the keys of the unwrapped model
      (``model1.backbone...``, not ``model1.module.backbone...``). MMEngine
      0.10.7 saves ``model.state_dict()``, which keeps the inner wrappers'
      ``module.``, while its loader unwraps them and expects the plain keys:
      such checkpoints would neither resume nor load for testing.

    Arguments as for ``MMSeparateDistributedDataParallel``.
    """

    def __init__(self,
                 module: nn.Module,
                 broadcast_buffers: bool = False,
                 find_unused_parameters: bool = False,
                 **kwargs) -> None:
        frozen = {
            name: sub
            for name, sub in module._modules.items()
            if sub is not None and not any(p.requires_grad
                                           for p in sub.parameters())
        }
        super().__init__(module, broadcast_buffers, find_unused_parameters,
                         **kwargs)
        # the parent moved them to the device; put the objects back
        module._modules.update(frozen)
        wrapped = [
            name for name, sub in module._modules.items()
            if is_model_wrapper(sub)
        ]
        module.register_state_dict_post_hook(
            functools.partial(_strip_wrapper_keys, wrapped))


__all__ = ['SeparateDistributedDataParallel']
