"""Filters that judge a teacher's pseudo-labels with a network of their own
(ELN's error-localisation network, GCT's flaw detector): the network is
trained by its method, or loaded, frozen, from a run's checkpoint so that
any teacher-student method can filter with it."""
from typing import Optional

from torch import nn

from .pseudo_label_filters import PseudoLabelFilter


class NetworkFilter(PseudoLabelFilter):
    """Base class: holds ``network``, loads its weights from ``checkpoint``
    (keys under ``prefix``, or the network's own state dict), checks them,
    and keeps a loaded network frozen and in eval mode.

    Subclasses set :attr:`kind` (the network's name in messages: "holds no
    <kind> weights", "<kind> weights of another class count") and build
    the network before calling :meth:`setup`.
    """
    kind = 'network'
    per_class = True

    def setup(self, network: nn.Module, num_classes: int,
              checkpoint: Optional[str], prefix: str,
              trainable: Optional[bool]) -> None:
        self.network = network
        self.num_classes = num_classes
        self.checkpoint = checkpoint
        self.prefix = prefix
        self.trainable = checkpoint is None if trainable is None else bool(
            trainable)
        if checkpoint is not None:
            self.load_network(checkpoint)
        if not self.trainable:
            for p in self.network.parameters():
                p.requires_grad_(False)
            self.network.eval()

    def load_network(self, path: str) -> None:
        """Load the network's weights from ``path``; a missing file, no
        weights for the network, or weights for another input width (class
        count) is an error naming the file and the key."""
        from mmengine.runner.checkpoint import _load_checkpoint
        name = type(self).__name__
        try:
            ckpt = _load_checkpoint(path, map_location='cpu')
        except (FileNotFoundError, OSError) as e:
            raise FileNotFoundError(
                f'{name}: checkpoint {path!r} cannot be read: {e}') from e
        state = ckpt.get('state_dict', ckpt) if isinstance(ckpt,
                                                           dict) else ckpt
        own = self.network.state_dict()
        if any(k.startswith(self.prefix) for k in state):
            state = {k[len(self.prefix):]: v for k, v in state.items()
                     if k.startswith(self.prefix)}
        missing = sorted(set(own) - set(state))
        if missing:
            raise KeyError(
                f'{name}: {path!r} holds no {self.kind} weights for '
                f'{missing[:3]} (looked for keys under {self.prefix!r} or '
                "the network's own keys)")
        for k, v in own.items():
            if tuple(state[k].shape) != tuple(v.shape):
                raise ValueError(
                    f'{name}: {path!r} key {self.prefix}{k} has shape '
                    f'{tuple(state[k].shape)}, this network '
                    f'{tuple(v.shape)}: {self.kind} weights of another '
                    f'class count? (this one: {self.num_classes} classes, '
                    f'{self.network.in_channels} input channels)')
        self.network.load_state_dict({k: state[k] for k in own})

    def init_weights(self) -> None:
        """After the runner's initialisation, the checkpoint's weights."""
        if self.checkpoint is None:
            init = getattr(self.network, 'init_weights', None)
            if init is not None:
                init()
        else:
            self.load_network(self.checkpoint)

    def train(self, mode: bool = True) -> 'NetworkFilter':
        super().train(mode)
        if not self.trainable:
            self.network.eval()
        return self
