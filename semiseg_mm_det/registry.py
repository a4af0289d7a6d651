"""The detection registries, for MMEngine's scope switch: see
:mod:`semiseg_mm.det.registry`."""
from semiseg_mm.det.registry import *  # noqa: F401,F403
from semiseg_mm.det.registry import DET_SCOPE  # noqa: F401
