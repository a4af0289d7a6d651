"""DeepLabv2 classifier: the sum of four parallel dilated 3x3 convolutions.

mmseg ships DeepLabv3's ASPP (concatenation + image pooling + projection);
DeepLabv2 (Chen et al., TPAMI 2017), as used by AdaptSegNet, ADVENT, GCT
(PixelSSL) and many semi-supervised baselines, predicts class scores
directly from each dilated branch and sums them.
"""
from typing import Sequence, Tuple

import torch.nn as nn
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from torch import Tensor

from semiseg_mm.registry import MODELS


@MODELS.register_module()
class DeepLabV2Head(BaseDecodeHead):
    """ASPP-sum head of DeepLabv2.

    Args:
        dilations: dilation (= padding) of each 3x3 branch; the paper's
            ASPP-L uses (6, 12, 18, 24).
        in_channels: channels of the selected backbone stage (2048 for
            ResNet-101's conv5, 1024 for conv4 aux heads).
        channels: unused by the computation (each branch maps straight to
            classes); kept because ``BaseDecodeHead`` requires it.
        kwargs: the remaining ``BaseDecodeHead`` arguments (``num_classes``,
            ``in_index``, ``loss_decode``, ``align_corners``, ...).

    The branch weights start from N(0, 0.01) and biases from 0, as in the
    reference implementation.
    """

    def __init__(self,
                 dilations: Sequence[int] = (6, 12, 18, 24),
                 channels: int = 0,
                 **kwargs) -> None:
        kwargs.setdefault('dropout_ratio', 0.0)
        kwargs.setdefault(
            'init_cfg',
            dict(type='Normal', std=0.01, bias=0, layer='Conv2d'))
        super().__init__(channels=max(channels, 1), **kwargs)
        if isinstance(self.in_channels, (list, tuple)):
            raise ValueError('DeepLabV2Head takes one input stage: set '
                             "in_index to an int and input_transform=None")
        self.dilations = tuple(dilations)
        self.aspp = nn.ModuleList(
            nn.Conv2d(
                self.in_channels,
                self.out_channels,
                kernel_size=3,
                padding=d,
                dilation=d,
                bias=True) for d in self.dilations)
        # the branches are the classifier: no extra 1x1 conv_seg
        del self.conv_seg

    @property
    def feature_channels(self) -> int:
        """Channels of :meth:`_forward_feature`'s output (the input
        stage's)."""
        return self.in_channels

    def _forward_feature(self, inputs: Tuple[Tensor]) -> Tensor:
        """DeepLabv2 classifies the backbone stage directly: its decoder
        features are the selected input stage."""
        return self._transform_inputs(inputs)

    def cls_seg(self, feat: Tensor) -> Tensor:
        """The sum of the dilated branches' class scores."""
        if self.dropout is not None:
            feat = self.dropout(feat)
        out = self.aspp[0](feat)
        for branch in self.aspp[1:]:
            out = out + branch(feat)
        return out

    def forward(self, inputs: Tuple[Tensor]) -> Tensor:
        return self.cls_seg(self._forward_feature(inputs))
