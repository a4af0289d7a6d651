"""Random draws inside ``loss()`` that a resumed run repeats."""
import torch
from mmengine.dist import get_rank

from .rampup import current_iter


def iteration_generator(device=None, stream: int = 0) -> torch.Generator:
    """A generator seeded by the run's seed (``torch.initial_seed()``, which
    MMEngine sets from ``randomness.seed``), the training iteration
    (:func:`current_iter`), the distributed rank and ``stream``: random
    draws made inside ``loss()`` from it repeat exactly when a run is
    resumed, and differ between ranks and iterations."""
    seed = (torch.initial_seed() * 1_000_003 + current_iter() * 7_919 +
            get_rank() * 104_729 + stream) % (2**63 - 1)
    g = torch.Generator(device=device if device is not None else 'cpu')
    g.manual_seed(seed)
    return g
