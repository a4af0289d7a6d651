"""ELN's pseudo-label filter: an error-localisation network decides, per
pixel, whether the teacher's pseudo-label can be trusted (Kwon & Kwak,
CVPR 2022). The ELN method trains the network; any other teacher-student
method (FixMatch, Mean Teacher) can filter with a trained one::

    pseudo_label_filter=dict(
        type='ELNFilter',
        network=dict(type='ELNNetwork', backbone=..., decode_head=...),
        checkpoint='work_dirs/eln/iter_20000.pth')
"""
from typing import Optional

import torch
from torch import Tensor

from semiseg_mm.registry import MODELS
from ..heads.eln_network import ELNNetwork  # noqa: F401 (registers it)
from .pseudo_label_filters import PseudoLabelBatch, PseudoLabelFilter

#: where the ELN method keeps the network in its checkpoints
DEFAULT_PREFIX = 'pseudo_label_filter.network.'


@MODELS.register_module()
class ELNFilter(PseudoLabelFilter):
    """Accept pixels where ``sigmoid(ELN(image, teacher logits)) >
    threshold`` (official: ``round(sigmoid(.))``, i.e. threshold 0.5).

    Args:
        network: an :class:`ELNNetwork` config (``num_classes`` filled in).
        threshold: acceptance threshold on the ELN probability.
        checkpoint: optional file with trained ELN weights: an ELN run's
            checkpoint (keys under ``prefix``) or the network's own state
            dict. Loaded when the filter is built (so a checkpoint of
            another class count stops before training) and again after
            the runner's weight initialisation.
        prefix: key prefix of the network's weights in ``checkpoint``.
        trainable: ``False`` (default for a loaded checkpoint): parameters
            frozen and BatchNorm kept in eval mode whatever the segmentor's
            mode; the ELN method sets ``True`` and trains it.
        num_classes: filled in by the segmentor.
    """
    needs = ('images', 'logits')
    per_class = True

    def __init__(self,
                 num_classes: int,
                 network: dict,
                 threshold: float = 0.5,
                 checkpoint: Optional[str] = None,
                 prefix: str = DEFAULT_PREFIX,
                 trainable: Optional[bool] = None) -> None:
        super().__init__()
        if not 0.0 <= threshold < 1.0:
            raise ValueError(f'ELNFilter: threshold must be in [0, 1), got '
                             f'{threshold}')
        self.threshold = float(threshold)
        self.network = MODELS.build(dict(network, num_classes=num_classes))
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
        ELN weights, or weights for another input width (class count) is
        an error naming the file and the key."""
        from mmengine.runner.checkpoint import _load_checkpoint
        try:
            ckpt = _load_checkpoint(path, map_location='cpu')
        except (FileNotFoundError, OSError) as e:
            raise FileNotFoundError(
                f'ELNFilter: checkpoint {path!r} cannot be read: {e}') from e
        state = ckpt.get('state_dict', ckpt) if isinstance(ckpt,
                                                           dict) else ckpt
        own = self.network.state_dict()
        if any(k.startswith(self.prefix) for k in state):
            state = {k[len(self.prefix):]: v for k, v in state.items()
                     if k.startswith(self.prefix)}
        missing = sorted(set(own) - set(state))
        if missing:
            raise KeyError(
                f'ELNFilter: {path!r} holds no ELN weights for '
                f'{missing[:3]} (looked for keys under {self.prefix!r} or '
                "the network's own keys)")
        for k, v in own.items():
            if tuple(state[k].shape) != tuple(v.shape):
                raise ValueError(
                    f'ELNFilter: {path!r} key {self.prefix}{k} has shape '
                    f'{tuple(state[k].shape)}, this network '
                    f'{tuple(v.shape)}: an ELN trained for another class '
                    f'count? (this one: {self.network.num_classes} classes, '
                    f'{self.network.in_channels} input channels)')
        self.network.load_state_dict({k: state[k] for k in own})

    def init_weights(self) -> None:
        """After the runner's initialisation, the checkpoint's weights."""
        if self.checkpoint is None:
            self.network.init_weights()
        else:
            self.load_network(self.checkpoint)

    def train(self, mode: bool = True) -> 'ELNFilter':
        super().train(mode)
        if not self.trainable:
            self.network.eval()
        return self

    def probability(self, images: Tensor, logits: Tensor) -> Tensor:
        """(N, H, W) probability that the prediction is correct."""
        return torch.sigmoid(self.network(images, logits))[:, 0]

    def score(self, batch: PseudoLabelBatch) -> Tensor:
        self.check_batch(batch)
        return self.probability(batch.images, batch.logits)

    def forward(self, batch: PseudoLabelBatch) -> Tensor:
        # ELNNetwork answers at the images' resolution, the teacher's
        # (full-resolution) pseudo-labels' too
        self.check_batch(batch)
        return self.probability(batch.images, batch.logits) > self.threshold
