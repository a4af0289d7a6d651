"""GCT's flaw-map choice as a pseudo-label filter (Ke, Qiu, Liang, Chen &
Lau, *Guided Collaborative Training for Pixel-wise Semi-supervised
Learning*, ECCV 2020; official code ZHKKKe/PixelSSL).

In GCT a flaw detector F sees an image and a model's prediction and
predicts where the prediction is wrong; its map, blurred and min-max
normalised per image, decides where each task model may learn from the
other: a value above ``xi`` (0.6) counts as hopeless. Here the same map of
the teacher's prediction decides which pseudo-labelled pixels a FixMatch or
Mean Teacher student learns from: those whose processed flaw is at most
``xi``. F comes from a GCT run (its checkpoint keeps it under
``flaw_detector.``)::

    pseudo_label_filter=dict(
        type='FlawMapFilter',
        detector=dict(type='FlawDetector', channels=..., strides=...),
        checkpoint='work_dirs/gct_synthetic_1-16/iter_3000.pth')

GCT itself chooses with two models' maps (dynamic consistency); this is the
one-teacher form, where it fits a teacher-student method.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

from semiseg_mm.registry import MODELS
from ..heads.flaw_detector import FlawDetector  # noqa: F401 (registers it)
from ..losses.gct import process_flaw_map
from .network_filter import NetworkFilter
from .pseudo_label_filters import PseudoLabelBatch

#: where GCT keeps its flaw detector in its checkpoints
DEFAULT_PREFIX = 'flaw_detector.'


@MODELS.register_module()
class FlawMapFilter(NetworkFilter):
    """Accept pixels whose processed flaw map (GCT's: clamped, blurred,
    cleared when its blurred maximum is <= ``clear_threshold``, else min-max
    normalised per image) of the teacher's probabilities is ``<= xi``.

    Args:
        num_classes: filled in by the segmentor.
        checkpoint: a GCT run's checkpoint (keys under ``prefix``) or the
            flaw detector's own state dict; required (nothing else trains
            the detector), loaded at build (a detector of another class
            count stops before training) and after the runner's weight
            initialisation.
        detector: the ``FlawDetector`` config (as in the GCT run);
            ``in_channels`` defaults to ``3 + num_classes``.
        xi: the flaw threshold (GCT's 0.6; a value exactly at ``xi`` is
            accepted, as GCT does not count it hopeless).
        clear_threshold, blur_divisor: GCT's map processing (0.1, 16); the
            blur kernel follows the image side as GCT's follows its crop.
        prefix: key prefix of the detector's weights in ``checkpoint``.
    """
    needs = ('images', )
    kind = 'flaw-detector'

    def __init__(self,
                 num_classes: int,
                 checkpoint: Optional[str] = None,
                 detector: Optional[dict] = None,
                 xi: float = 0.6,
                 clear_threshold: float = 0.1,
                 blur_divisor: int = 16,
                 prefix: str = DEFAULT_PREFIX) -> None:
        super().__init__()
        if checkpoint is None:
            raise ValueError(
                'FlawMapFilter: checkpoint is required, a GCT run\'s '
                'checkpoint holding its trained flaw detector (keys under '
                f"{prefix!r}); an untrained detector's map means nothing")
        if not 0.0 <= xi <= 1.0:
            raise ValueError(f'FlawMapFilter: xi must be in [0, 1] (the '
                             f'processed map is), got {xi}')
        if clear_threshold < 0 or blur_divisor < 1:
            raise ValueError(
                'FlawMapFilter: clear_threshold must be >= 0 and '
                f'blur_divisor >= 1, got {clear_threshold}, {blur_divisor}')
        self.xi = float(xi)
        self.clear_threshold = float(clear_threshold)
        self.blur_divisor = int(blur_divisor)
        cfg = dict(detector or dict(type='FlawDetector'))
        cfg.setdefault('in_channels', 3 + num_classes)
        self.setup(MODELS.build(cfg), num_classes, checkpoint, prefix,
                   trainable=False)

    @torch.no_grad()
    def flaw_map(self, images: Tensor, probs: Tensor) -> Tensor:
        """(N, H, W) processed flaw map of ``probs`` on ``images``."""
        flaw = self.network(images, probs)
        side = max(images.shape[-2:])
        return process_flaw_map(flaw, side, self.clear_threshold,
                                self.blur_divisor)[:, 0]

    def score(self, batch: PseudoLabelBatch) -> Tensor:
        """1 - the processed flaw: high where F finds the prediction
        right (drawn in the probe pictures)."""
        return self.decide(batch, with_score=True)[1]

    def decide(self, batch: PseudoLabelBatch, with_score: bool = False
               ) -> Tuple[Tensor, Optional[Tensor]]:
        self.check_batch(batch)
        flaw = self.flaw_map(batch.images, batch.probs)
        return flaw <= self.xi, 1.0 - flaw if with_score else None

    def forward(self, batch: PseudoLabelBatch) -> Tensor:
        return self.decide(batch)[0]
