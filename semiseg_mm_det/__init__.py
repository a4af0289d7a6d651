"""The registry scope of semiseg_mm's detection part.

MMEngine imports ``<scope>.registry`` when it switches to a registry scope,
so the detection scope ``semiseg_mm_det`` needs a package of that name. The
code lives in :mod:`semiseg_mm.det`; this package only points at it.
"""
import semiseg_mm  # noqa: F401 (config prefixes, checkpoint loading)
