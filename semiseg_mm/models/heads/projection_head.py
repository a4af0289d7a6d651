"""A pixel projection head: 1x1 convolutions from decoder (or backbone)
features to an embedding per pixel, for pixel contrastive losses.

ELN (Kwon & Kwak, CVPR 2022; official ``modeling/deeplab.py``
``projector``): 256 -> 256, ReLU, 256 -> 128 on the DeepLabv3+ decoder
features. Label-based contrastive pretraining (Zhao et al., ICCV 2021):
three 1x1 convolutions of 256 channels, ReLU after the first two, L2
normalisation.
"""
from typing import Optional

import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from semiseg_mm.registry import MODELS


@MODELS.register_module()
class ProjectionHead(BaseModule):
    """``num_convs`` 1x1 convolutions with a ReLU between consecutive ones.

    Args:
        in_channels: channels of the features it projects.
        channels: hidden width (every conv but the last).
        out_channels: embedding size.
        num_convs: >= 1 (ELN 2, label-based contrastive pretraining 3).
        normalize: L2-normalise each pixel's embedding over channels.
    """

    def __init__(self,
                 in_channels: int,
                 channels: int = 256,
                 out_channels: int = 128,
                 num_convs: int = 2,
                 normalize: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_convs < 1:
            raise ValueError(f'ProjectionHead: num_convs must be >= 1, got '
                             f'{num_convs}')
        widths = [in_channels] + [channels] * (num_convs - 1) + [out_channels]
        layers = []
        for i in range(num_convs):
            if i:
                layers.append(nn.ReLU(inplace=True))
            layers.append(nn.Conv2d(widths[i], widths[i + 1], kernel_size=1))
        self.convs = nn.Sequential(*layers)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.normalize = normalize

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[1] != self.in_channels:
            raise ValueError(f'ProjectionHead takes {self.in_channels} '
                             f'channels, got {tuple(x.shape)}')
        x = self.convs(x)
        return F.normalize(x, dim=1) if self.normalize else x
