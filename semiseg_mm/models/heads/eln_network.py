"""ELN's error-localisation network (Kwon & Kwak, CVPR 2022; official
``modeling/ELN.py``).

The network looks at an image and a segmentation prediction (its entropy
and its logits, :func:`~semiseg_mm.models.losses.eln.eln_inputs`) and gives
one logit per pixel: ``sigmoid`` is the probability that the prediction is
correct there. The official network is DeepLabv3+ on a ResNet-34 whose
first convolution takes 3 + 1 + C channels; here it is any mmseg backbone
(its ``in_channels`` set to 3 + 1 + C) and any mmseg decode head whose
``forward`` gives one channel (``DepthwiseSeparableASPPHead`` with
``out_channels=1`` for the paper's), so the CPU configs can use a small
one.
"""
from typing import Optional

import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from semiseg_mm.registry import MODELS
from ..losses.eln import eln_inputs
from ..utils.checkpoint import checkpointed


@MODELS.register_module()
class ELNNetwork(BaseModule):
    """Backbone + decode head on (image, entropy, logits).

    Args:
        num_classes: classes of the segmentation it judges (C).
        backbone: an mmseg backbone config; its ``in_channels`` is set to
            ``3 + 1 + num_classes``.
        decode_head: an mmseg decode head config; ``out_channels`` is set
            to 1 (its ``num_classes`` to 2, the binary form mmseg expects).
        image_channels: channels of the images (3).
        with_cp: keep only the inputs of each pass while training and run
            it again in the backward pass (activation checkpointing, mmseg's
            ``with_cp``): ELN learns from K + 1 predictions per iteration,
            and without it the activations of all K + 1 passes are held
            until the backward pass; with it one pass's are, for one more
            forward pass each. Batch-norm running statistics are updated
            once, as without it.
    """
    #: its decode head gives one logit per pixel, not classes (the data
    #: checks skip it)
    predicts_classes = False

    def __init__(self,
                 num_classes: int,
                 backbone: dict,
                 decode_head: dict,
                 image_channels: int = 3,
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f'ELNNetwork: num_classes must be an int >= 2, '
                             f'got {num_classes!r}')
        self.num_classes = num_classes
        self.with_cp = bool(with_cp)
        self.in_channels = image_channels + 1 + num_classes
        self.backbone = MODELS.build(
            dict(backbone, in_channels=self.in_channels))
        self.decode_head = MODELS.build(
            dict(decode_head, num_classes=2, out_channels=1,
                 threshold=decode_head.get('threshold', 0.5)))

    def forward(self, images: Tensor, seg_logits: Tensor) -> Tensor:
        """(N, 1, H, W) logits at the images' resolution."""
        if seg_logits.shape[1] != self.num_classes:
            raise ValueError(
                f'ELNNetwork judges {self.num_classes}-class predictions, '
                f'got {seg_logits.shape[1]} channels')
        x = eln_inputs(images, seg_logits)
        if self.with_cp and self.training:
            out = checkpointed(self, self._logits, x)
        else:
            out = self._logits(x)
        if out.shape[-2:] != images.shape[-2:]:
            out = F.interpolate(out, size=images.shape[-2:],
                                mode='bilinear', align_corners=False)
        return out

    def _logits(self, x: Tensor) -> Tensor:
        return self.decode_head(self.backbone(x))
