"""Training machinery: hooks shared by the methods."""
from .hooks import *  # noqa: F401,F403
