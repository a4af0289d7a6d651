"""Pseudo-label filters: which pseudo-labelled pixels a student learns from."""
from .eln_filter import ELNFilter
from .flaw_map_filter import FlawMapFilter
from .network_filter import NetworkFilter
from .pseudo_label_filters import *  # noqa: F401,F403
from .pseudo_label_filters import __all__ as _base_all

__all__ = list(_base_all) + ['ELNFilter', 'FlawMapFilter', 'NetworkFilter']
