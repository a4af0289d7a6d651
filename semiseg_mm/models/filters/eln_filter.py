"""ELN's pseudo-label filter: an error-localisation network decides, per
pixel, whether the teacher's pseudo-label can be trusted (Kwon & Kwak,
CVPR 2022). The ELN method trains the network; any other teacher-student
method (FixMatch, Mean Teacher) can filter with a trained one::

    pseudo_label_filter=dict(
        type='ELNFilter',
        network=dict(type='ELNNetwork', backbone=..., decode_head=...),
        checkpoint='work_dirs/eln/iter_20000.pth')
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

from semiseg_mm.registry import MODELS
from ..heads.eln_network import ELNNetwork  # noqa: F401 (registers it)
from .network_filter import NetworkFilter
from .pseudo_label_filters import PseudoLabelBatch

#: where the ELN method keeps the network in its checkpoints
DEFAULT_PREFIX = 'pseudo_label_filter.network.'


@MODELS.register_module()
class ELNFilter(NetworkFilter):
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
    kind = 'ELN'

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
        self.setup(MODELS.build(dict(network, num_classes=num_classes)),
                   num_classes, checkpoint, prefix, trainable)

    def probability(self, images: Tensor, logits: Tensor) -> Tensor:
        """(N, H, W) probability that the prediction is correct."""
        return torch.sigmoid(self.network(images, logits))[:, 0]

    def score(self, batch: PseudoLabelBatch) -> Tensor:
        return self.decide(batch, with_score=True)[1]

    def decide(self, batch: PseudoLabelBatch, with_score: bool = False
               ) -> Tuple[Tensor, Optional[Tensor]]:
        # ELNNetwork answers at the images' resolution, the teacher's
        # (full-resolution) pseudo-labels' too
        self.check_batch(batch)
        p = self.probability(batch.images, batch.logits)
        return p > self.threshold, p if with_score else None

    def forward(self, batch: PseudoLabelBatch) -> Tensor:
        return self.decide(batch)[0]
