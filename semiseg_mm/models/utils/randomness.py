"""Random draws inside ``loss()`` that a resumed run repeats."""
import contextlib

import torch
from mmengine.dist import get_rank

from .rampup import current_iter


def iteration_generator(device=None, stream: int = 0) -> torch.Generator:
    """A generator seeded by the run's seed (``torch.initial_seed()``, which
    MMEngine sets from ``randomness.seed``), the training iteration
    (:func:`current_iter`), the distributed rank and ``stream``: random
    draws made inside ``loss()`` from it repeat exactly when a run is
    resumed, and differ between ranks and iterations."""
    g = torch.Generator(device=device if device is not None else 'cpu')
    g.manual_seed(iteration_seed(stream))
    return g


def iteration_seed(stream: int = 0) -> int:
    """The seed :func:`iteration_generator` uses: run seed, iteration, rank
    and ``stream``."""
    return (torch.initial_seed() * 1_000_003 + current_iter() * 7_919 +
            get_rank() * 104_729 + stream) % (2**63 - 1)


@contextlib.contextmanager
def iteration_rng(stream: int = 0):
    """Run a block whose random draws come from torch's *global* generators
    (code we do not own, e.g. mmdet's proposal samplers and box jitter) with
    those generators seeded by :func:`iteration_seed`, and restore their
    state afterwards: the block repeats exactly when a run is resumed, and
    what runs outside it (the data pipeline, which MMEngine's resume
    replays) sees the generators as if the block had not drawn."""
    devices = ([torch.cuda.current_device()]
               if torch.cuda.is_available() and torch.cuda.is_initialized()
               else [])
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(iteration_seed(stream))
        yield
