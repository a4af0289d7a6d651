"""torch>=2.6 compatibility for checkpoints saved by MMEngine's runner.

torch 2.6 made ``torch.load(weights_only=True)`` the default. MMEngine 0.10.7
calls ``torch.load`` without the argument, so every checkpoint the runner
saved (its ``message_hub`` holds ``HistoryBuffer`` objects with NumPy arrays)
fails to load: ``--resume``, ``load_from``, ``tools/test.py CKPT`` and
``mmseg.apis.init_model``. Plain state-dict files load fine.

We keep weights-only loading on and allow-list exactly the types those
checkpoints contain. One of them needs care: ``HistoryBuffer`` pickles its
statistics methods as ``getattr(HistoryBuffer, 'min')``, and allowing
``builtins.getattr`` itself would let a file walk to any attribute (and from
there to code). Instead we register, under the name ``builtins.getattr``, a
stand-in that resolves only ``HistoryBuffer``'s statistics methods and
refuses everything else. Anything else in a file (arbitrary classes, code,
other ``getattr`` calls) is still refused by torch, so loading an untrusted
weight file stays as safe as torch makes it.
"""
import pickle
from typing import Any, List

import numpy as np
import torch

_done = False


def _numpy_globals() -> List[object]:
    """NumPy callables/classes pickled with arrays and scalars."""
    try:  # numpy >= 2
        from numpy._core import multiarray
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray  # type: ignore
    globs: List[object] = [
        multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype
    ]
    # Concrete dtype classes (np.dtypes.Float64DType, ...) are pickled by
    # reference since numpy 1.25.
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        globs += [
            getattr(dtypes, name) for name in dir(dtypes)
            if name.endswith('DType')
            and isinstance(getattr(dtypes, name), type)
        ]
    return globs


_STATISTICS = ('min', 'max', 'current', 'mean')


def history_buffer_getattr(obj: Any, name: str) -> Any:
    """``getattr`` restricted to ``HistoryBuffer``'s statistics methods.

    Stands in for ``builtins.getattr`` during weights-only loading.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    if obj is HistoryBuffer and isinstance(name, str) and (
            name in _STATISTICS
            or name in getattr(HistoryBuffer, '_statistics_methods', {})):
        value = getattr(HistoryBuffer, name)
        if callable(value):
            return value
    raise pickle.UnpicklingError(
        f'weights-only load refused getattr({obj!r}, {name!r}): only '
        'HistoryBuffer statistics methods are allowed (semiseg_mm)')


def mmengine_checkpoint_globals() -> List[Any]:
    """What MMEngine runner checkpoints contain besides tensors."""
    from mmengine.logging.history_buffer import HistoryBuffer
    return [HistoryBuffer, (history_buffer_getattr, 'builtins.getattr')
            ] + _numpy_globals()


def allow_mmengine_checkpoint_globals() -> None:
    """Allow-list MMEngine checkpoint types for weights-only ``torch.load``.

    Idempotent; a no-op on torch versions without ``add_safe_globals``.
    """
    global _done
    if _done:
        return
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:
        add(mmengine_checkpoint_globals())
    _done = True
