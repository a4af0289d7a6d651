"""Models: backbones, heads, losses and (semi-supervised) segmentors."""
from .backbones import *  # noqa: F401,F403
from .discriminators import *  # noqa: F401,F403
from .filters import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .segmentors import *  # noqa: F401,F403
from .wrappers import *  # noqa: F401,F403
