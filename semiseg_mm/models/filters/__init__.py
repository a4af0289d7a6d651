"""Pseudo-label filters: which pseudo-labelled pixels a student learns from."""
from .pseudo_label_filters import *  # noqa: F401,F403
from .pseudo_label_filters import __all__  # noqa: F401
