"""Refuse a checkpoint that does not hold the model the config builds.

MMEngine loads checkpoints non-strictly: a checkpoint of another model only
produces missing/unexpected-key log lines, after which ``tools/test.py``
evaluates a randomly initialised model and exits 0, and ``--resume`` fails
later with a raw optimiser error (``loaded state dict contains a parameter
group that doesn't match``). :class:`CheckpointCheckHook` reads the
checkpoint's keys and shapes (memory-mapped, no weights are read) in
``before_run``, before the runner loads it, compares them with the model's,
and stops with a message saying which model the checkpoint holds and which
the config builds:

* ``--resume`` needs the same model: every tensor present with its shape,
  no extra ones, and the same model type if the checkpoint names one;
* testing (``tools/test.py``) needs the model's weights: no shape
  mismatch and at least ``min_loaded`` of the weights present;
* ``load_from`` in training is an initialisation: at least ``min_loaded`` of
  the weights present; missing or reshaped tensors (a new head) are only
  reported. A plain supervised checkpoint loads into every sub-model of a
  semi-supervised segmentor, as the segmentor itself loads it.
"""
import ast
import logging
import math
import os.path as osp
from collections import Counter
from typing import Dict, Mapping, Optional, Tuple

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import BaseTTAModel
from mmengine.runner import BaseLoop
from mmengine.runner.checkpoint import find_latest_checkpoint

from semiseg_mm.models.wrappers import unwrap
from semiseg_mm.registry import HOOKS

Shapes = Dict[str, Tuple[int, ...]]


class CheckpointMismatchError(RuntimeError):
    """The checkpoint holds another model than the config builds."""


def read_checkpoint(path: str) -> dict:
    """The checkpoint's content, tensors memory-mapped where possible."""
    try:
        return torch.load(path, map_location='cpu', mmap=True,
                          weights_only=True)
    except RuntimeError:  # legacy (non-zip) files cannot be mapped
        return torch.load(path, map_location='cpu', weights_only=True)


def checkpoint_shapes(ckpt: Mapping) -> Shapes:
    """Key -> shape of the checkpoint's state dict (``module.`` prefixes
    stripped, as MMEngine's ``load_checkpoint`` does)."""
    state = ckpt.get('state_dict', ckpt)
    out = {}
    for k, v in state.items():
        if isinstance(v, torch.Tensor):
            out[k[len('module.'):] if k.startswith('module.') else k] = tuple(
                v.shape)
    return out


# ---------------------------------------------------------------------- #
# describing models
# ---------------------------------------------------------------------- #
def _type_of(d: Mapping) -> str:
    t = d.get('type', '?')
    return t if isinstance(t, str) else getattr(t, '__name__', str(t))


def describe_model_cfg(model: Mapping) -> str:
    """``FixMatch (segmentor EncoderDecoder, backbone DilatedConvNet)``."""
    parts = []
    inner = model
    for key in ('segmentor', 'detector'):
        if isinstance(model.get(key), Mapping):
            inner = model[key]
            parts.append(f'{key} {_type_of(inner)}')
    for key in ('backbone', 'decode_head'):
        if isinstance(inner.get(key), Mapping):
            parts.append(f'{key} {_type_of(inner[key])}')
    return _type_of(model) + (f" ({', '.join(parts)})" if parts else '')


def _literal_dict(node) -> Optional[dict]:
    """A ``dict(...)`` / ``{...}`` AST node as nested dicts of constants
    (other values dropped); the config text is never executed."""
    if isinstance(node, ast.Call) and isinstance(
            node.func, ast.Name) and node.func.id == 'dict':
        items = [(kw.arg, kw.value) for kw in node.keywords if kw.arg]
    elif isinstance(node, ast.Dict):
        items = [(k.value, v) for k, v in zip(node.keys, node.values)
                 if isinstance(k, ast.Constant)]
    else:
        return None
    out = {}
    for k, v in items:
        if isinstance(v, ast.Constant):
            out[k] = v.value
        else:
            sub = _literal_dict(v)
            if sub is not None:
                out[k] = sub
    return out


def model_cfg_from_text(text: str) -> Optional[dict]:
    """The ``model`` dict of a config's text (a runner checkpoint keeps its
    config in ``meta.cfg``), read with ``ast``, or None."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, TypeError):
        return None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == 'model'
                for t in node.targets):
            return _literal_dict(node.value)
    return None


def _prefix_summary(shapes: Shapes) -> str:
    counts = Counter(k.split('.', 1)[0] for k in shapes)
    return ', '.join(f'{p}.* ({n})' for p, n in counts.most_common(6))


def _numel(shape: Tuple[int, ...]) -> int:
    return math.prod(shape) if shape else 1


@HOOKS.register_module()
class CheckpointCheckHook(Hook):
    """Compare the checkpoint to resume/test/load with the model first.

    Args:
        min_loaded: share of the model's weights (by element count) the
            checkpoint must provide to test or to initialise from it.
    """
    priority = 'VERY_HIGH'

    def __init__(self, min_loaded: float = 0.5) -> None:
        if not 0.0 <= min_loaded <= 1.0:
            raise ValueError('CheckpointCheckHook: min_loaded must be in '
                             f'[0, 1], got {min_loaded}')
        self.min_loaded = min_loaded

    @staticmethod
    def checkpoint_to_check(runner) -> Tuple[Optional[str], str]:
        """``(path, mode)`` of what ``runner.load_or_resume`` will load;
        mode ``'resume'``, ``'test'`` or ``'load'``."""
        if getattr(runner, '_has_loaded', False):
            return None, ''
        resume, load_from = runner._resume, runner._load_from
        if resume:
            path = load_from or find_latest_checkpoint(runner.work_dir)
            return path, 'resume'
        if load_from is None:
            return None, ''
        training = isinstance(getattr(runner, '_train_loop', None), BaseLoop)
        return load_from, 'load' if training else 'test'

    def before_run(self, runner) -> None:
        path, mode = self.checkpoint_to_check(runner)
        if path is None:
            return
        path = str(path)
        if '://' in path:  # URLs: MMEngine downloads and loads them
            return
        key = '--resume' if mode == 'resume' else (
            'the checkpoint' if mode == 'test' else 'load_from')
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'CheckpointCheckHook: {key}: {path!r} does not exist')
        try:
            ckpt = read_checkpoint(path)
        except Exception as e:  # MMEngine's own load reports it
            print_log(
                f'CheckpointCheckHook: could not read {path!r} ahead of '
                f'loading ({type(e).__name__}); not checked',
                logger='current',
                level=logging.WARNING)
            return
        self.compare(runner, ckpt, path, mode, key)

    def compare(self, runner, ckpt: Mapping, path: str, mode: str,
                key: str) -> None:
        model = unwrap(runner.model)
        if isinstance(model, BaseTTAModel):
            model = model.module
        expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
        found = checkpoint_shapes(ckpt)
        if hasattr(model, 'expand_checkpoint_keys'):
            found = model.expand_checkpoint_keys(found)
        matched = [k for k in expected if found.get(k) == expected[k]]
        reshaped = [
            k for k in expected if k in found and found[k] != expected[k]
        ]
        missing = [k for k in expected if k not in found]
        unexpected = [k for k in found if k not in expected]
        total = sum(_numel(s) for s in expected.values()) or 1
        loaded = sum(_numel(expected[k]) for k in matched) / total

        meta = ckpt.get('meta', {}) if isinstance(ckpt, Mapping) else {}
        ckpt_cfg = model_cfg_from_text(meta.get('cfg', '')) if isinstance(
            meta, Mapping) and isinstance(meta.get('cfg'), str) else None
        cfg_model = runner.cfg.get('model', {})
        other_type = ckpt_cfg is not None and _type_of(
            ckpt_cfg) != _type_of(cfg_model)

        def listing() -> str:
            parts = [f'{loaded:.0%} of the model\'s weights would load']
            for what, keys in (('missing', missing), ('of another shape',
                                                       reshaped),
                               ('unexpected', unexpected)):
                if keys:
                    parts.append(f'{len(keys)} tensor(s) {what}, e.g. '
                                 f'{keys[:2]}')
            return '; '.join(parts)

        holds = (describe_model_cfg(ckpt_cfg) + ', '
                 if ckpt_cfg else '') + f'keys {_prefix_summary(found)}'
        builds = f'{describe_model_cfg(cfg_model)}, keys ' \
            f'{_prefix_summary(expected)}'
        head = (f'CheckpointCheckHook: {key} {path!r} holds {holds}; the '
                f'config builds {builds}: {listing()}.')
        if mode == 'resume':
            if missing or reshaped or unexpected or other_type:
                raise CheckpointMismatchError(
                    head + ' --resume continues the run of this config from '
                    'its own checkpoint: train this config in a new '
                    '--work-dir, or start it from that model with '
                    f'load_from={path!r}.')
            return
        if loaded < self.min_loaded or (mode == 'test' and reshaped):
            hint = (' Test a checkpoint with the config that trained it.'
                    if mode == 'test' else
                    ' load_from initialises the model from weights of the '
                    'same architecture (a plain supervised checkpoint '
                    'loads into every sub-model of a semi-supervised '
                    'segmentor); check the path, or lower '
                    'default_hooks.checkpoint_check.min_loaded to load '
                    'fewer weights on purpose.')
            raise CheckpointMismatchError(head + hint)
        if missing or reshaped:
            print_log(head + ' The rest keeps its initialisation.',
                      logger='current', level=logging.WARNING)
