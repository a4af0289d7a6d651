"""A small backbone that trains from scratch on a CPU in minutes.

For the synthetic benchmark, tests and demos (no pretrained weights can be
downloaded there). mmseg's ImageNet-style backbones downsample by 4 in their
stem, which leaves 16x16 maps of a 64 px image, and its UNet did not leave
the all-background solution on the synthetic shapes in our trials; this net
keeps a full-resolution stem and grows its receptive field with dilation at
1/2 resolution instead.
"""
from typing import Sequence, Tuple

import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor

from semiseg_mm.registry import MODELS
from ..utils.checkpoint import checkpointed


@MODELS.register_module()
class DilatedConvNet(BaseModule):
    """Full-resolution stem, one strided conv, a stack of dilated 3x3 convs.

    Args:
        in_channels: input image channels.
        stem_channels: channels of the full-resolution stem.
        channels: channels of the dilated body.
        dilations: dilation of each body conv; with (1, 2, 4, 8, 1) at
            stride 2 the receptive field spans 70 px of the input.
        stride: downsampling of the body relative to the input (1 or 2).
        norm_cfg: normalisation (``BN`` on CPU, ``SyncBN`` on GPUs).
        act_cfg: activation.
        mid_outputs: indices of body convs whose outputs are returned too,
            between the stem and the last one: intermediate stages for
            auxiliary heads (multi-level domain adaptation puts one on an
            earlier stage, as DeepLabv2's on conv4).
        with_cp: while training, keep only each conv's input and run the
            conv again in the backward pass (activation checkpointing, as
            mmseg's backbones' ``with_cp``; batch-norm running statistics
            are updated once): less memory for one more forward pass.

    Returns (forward): ``(stem, body)`` feature maps at strides 1 and
    ``stride``, for a head with ``input_transform='resize_concat'``; with
    ``mid_outputs`` ``(stem, *mid, body)``.
    """

    def __init__(self,
                 in_channels: int = 3,
                 stem_channels: int = 24,
                 channels: int = 48,
                 dilations: Sequence[int] = (1, 2, 4, 8, 1),
                 stride: int = 2,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 act_cfg: dict = dict(type='ReLU'),
                 mid_outputs: Sequence[int] = (),
                 with_cp: bool = False,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if stride not in (1, 2):
            raise ValueError(f'stride must be 1 or 2, got {stride}')
        self.mid_outputs = tuple(sorted(set(mid_outputs)))
        self.with_cp = bool(with_cp)
        if any(not 0 <= i < len(dilations) - 1 for i in self.mid_outputs):
            raise ValueError(
                f'mid_outputs={tuple(mid_outputs)}: indices of body convs '
                f'before the last one, in [0, {len(dilations) - 1})')
        conv = dict(kernel_size=3, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.stem = ConvModule(in_channels, stem_channels, padding=1, **conv)
        self.down = ConvModule(
            stem_channels, channels, stride=stride, padding=1, **conv)
        self.body = nn.Sequential(*[
            ConvModule(channels, channels, padding=d, dilation=d, **conv)
            for d in dilations
        ])

    def _run(self, layer: nn.Module, x: Tensor) -> Tensor:
        if self.with_cp and self.training:
            return checkpointed(layer, layer, x)
        return layer(x)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        stem = self._run(self.stem, x)
        x = self._run(self.down, stem)
        mids = []
        for i, layer in enumerate(self.body):
            x = self._run(layer, x)
            if i in self.mid_outputs:
                mids.append(x)
        return (stem, *mids, x)
