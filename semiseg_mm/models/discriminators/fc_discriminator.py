"""The fully convolutional domain discriminator of AdaptSegNet and ADVENT.

Tsai et al., "Learning to Adapt Structured Output Space for Semantic
Segmentation", CVPR 2018 (wasidennis/AdaptSegNet, ``model/discriminator.py``)
and Vu et al., "ADVENT", CVPR 2019 (valeoai/ADVENT,
``advent/model/discriminator.py``): five 4x4 convolutions of stride 2,
channels C -> 64 -> 128 -> 256 -> 512 -> 1, LeakyReLU(0.2) after the first
four and no sigmoid, so it returns one domain logit per cell of a map about
1/32 of the input size. With ``base_channels=64`` it has
2,761,665 + 1,024 x C parameters.
"""
from typing import Optional

import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from semiseg_mm.registry import MODELS


@MODELS.register_module()
class FCDiscriminator(BaseModule):
    """Domain discriminator over C-channel maps (softmax outputs, entropy
    maps or features).

    Args:
        in_channels: channels of the maps it judges (the number of classes
            for output-space adaptation; the feature channels for
            feature-level alignment).
        base_channels: channels of the first conv (``ndf`` = 64), doubled
            at each of the next three.
        negative_slope: of the LeakyReLUs (0.2).
        init_cfg: MMEngine init config; ``None`` keeps PyTorch's default
            initialisation, as both official implementations do.

    Input (N, C, H, W); output (N, 1, ~H/32, ~W/32) logits, high for the
    domain labelled 1 (target, see :mod:`..losses.uda`).
    """

    def __init__(self,
                 in_channels: int,
                 base_channels: int = 64,
                 negative_slope: float = 0.2,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if in_channels < 1 or base_channels < 1:
            raise ValueError('FCDiscriminator: in_channels and base_channels '
                             f'must be >= 1, got {in_channels}, '
                             f'{base_channels}')
        self.in_channels = in_channels
        chans = [in_channels] + [base_channels * 2**i for i in range(4)]
        layers = []
        for cin, cout in zip(chans[:-1], chans[1:]):
            layers += [
                nn.Conv2d(cin, cout, kernel_size=4, stride=2, padding=1),
                nn.LeakyReLU(negative_slope=negative_slope, inplace=True)
            ]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Conv2d(
            chans[-1], 1, kernel_size=4, stride=2, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f'FCDiscriminator expects (N, {self.in_channels}, H, W) '
                f'maps, got {tuple(x.shape)}')
        return self.classifier(self.features(x))
