"""One optimiser per sub-model: GCT's task models and flaw detector, UDA
segmenters and discriminators.

MMEngine builds an ``OptimWrapperDict`` only through a constructor that
knows how to split the model; this one takes, per optimiser, the attribute
names of the sub-modules it trains and builds each wrapper with MMEngine's
``DefaultOptimWrapperConstructor`` (so ``paramwise_cfg`` such as a head
``lr_mult`` works as usual)::

    optim_wrapper = dict(
        constructor='MultiOptimWrapperConstructor',
        task=dict(
            modules=['model1', 'model2'],
            optimizer=dict(type='SGD', lr=1e-3, momentum=0.9),
            paramwise_cfg=dict(custom_keys={'decode_head': dict(
                lr_mult=10.0)})),
        fd=dict(modules='flaw_detector',
                optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.99))))
    param_scheduler = dict(task=[...], fd=[...])   # keyed the same way

Every trainable parameter must belong to exactly one optimiser; a parameter
left out or claimed twice is an error naming it.
"""
import copy
from typing import Dict, List, Optional, Union

import torch.nn as nn
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict

from semiseg_mm.models.wrappers import unwrap
from semiseg_mm.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MultiOptimWrapperConstructor:
    """Build an ``OptimWrapperDict`` from ``{name: wrapper_cfg}``.

    Args:
        optim_wrapper_cfg: one entry per optimiser; each holds ``modules``
            (an attribute name or a list of them; default: the entry's name),
            the usual ``type``/``optimizer``/``clip_grad`` and an optional
            ``paramwise_cfg``.
        paramwise_cfg: must be None here (give it per optimiser).
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None) -> None:
        if paramwise_cfg is not None:
            raise ValueError('MultiOptimWrapperConstructor: put paramwise_cfg '
                             'inside each optimiser entry, not at the top')
        if not optim_wrapper_cfg:
            raise ValueError('MultiOptimWrapperConstructor: no optimiser '
                             'entries in optim_wrapper')
        for name, cfg in optim_wrapper_cfg.items():
            if not isinstance(cfg, dict) or 'optimizer' not in cfg:
                raise ValueError(
                    f'optim_wrapper.{name} must be a dict with an '
                    f"'optimizer' (and 'modules'), got {cfg!r}")
        self.optim_wrapper_cfg = copy.deepcopy(optim_wrapper_cfg)

    @staticmethod
    def _modules(model: nn.Module, name: str,
                 modules: Union[str, List[str]]) -> nn.Module:
        names = [modules] if isinstance(modules, str) else list(modules)
        found = {}
        for m in names:
            sub = getattr(model, m, None)
            if not isinstance(sub, nn.Module):
                raise AttributeError(
                    f'optim_wrapper.{name}.modules names {m!r}, but '
                    f'{type(model).__name__} has no sub-module {m!r}')
            found[m] = unwrap(sub)
        return nn.ModuleDict(found)

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        model = unwrap(model)
        wrappers: Dict[str, object] = {}
        owner: Dict[int, str] = {}
        for name, cfg in self.optim_wrapper_cfg.items():
            cfg = copy.deepcopy(cfg)
            group = self._modules(model, name, cfg.pop('modules', name))
            paramwise = cfg.pop('paramwise_cfg', None)
            for pname, p in group.named_parameters():
                if not p.requires_grad:
                    continue
                if id(p) in owner:
                    raise ValueError(
                        f'parameter {pname} is trained by both optimisers '
                        f'{owner[id(p)]!r} and {name!r}')
                owner[id(p)] = name
            wrappers[name] = DefaultOptimWrapperConstructor(
                cfg, paramwise)(group)
        missing = [
            n for n, p in model.named_parameters()
            if p.requires_grad and id(p) not in owner
        ]
        if missing:
            raise ValueError(
                f'{len(missing)} trainable parameter(s) belong to no '
                f'optimiser, e.g. {missing[:3]}; list their module in one '
                'of the optim_wrapper entries (modules=...)')
        return OptimWrapperDict(**wrappers)
