"""GCT's flaw detector (Ke et al., ECCV 2020; PixelSSL ``ssl_gct.py``).

The flaw detector F looks at an image and a task model's prediction and
regresses, per pixel, how wrong the prediction is (the flaw map). The
architecture is PixelSSL's ``FlawDetector``; the targets are in
``semiseg_mm.models.losses.gct``.
"""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from semiseg_mm.registry import MODELS


class IBNorm(nn.Module):
    """Instance-batch normalisation of PixelSSL's flaw detector.

    The first ``channels // 2`` channels go through ``BatchNorm2d`` (with
    affine parameters), the remaining ones through ``InstanceNorm2d``
    without affine parameters (and without running statistics); the two
    results are concatenated back in the original channel order.

    Args:
        channels: number of input (= output) channels.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        if channels < 2:
            raise ValueError(
                f'IBNorm needs at least 2 channels, got {channels}')
        self.channels = channels
        self.bn_channels = channels // 2
        self.inorm_channels = channels - self.bn_channels
        self.bnorm = nn.BatchNorm2d(self.bn_channels, affine=True)
        self.inorm = nn.InstanceNorm2d(self.inorm_channels, affine=False)

    def forward(self, x: Tensor) -> Tensor:
        """Normalise ``x`` of shape (N, channels, H, W)."""
        bn_x = self.bnorm(x[:, :self.bn_channels].contiguous())
        in_x = self.inorm(x[:, self.bn_channels:].contiguous())
        return torch.cat((bn_x, in_x), dim=1)


@MODELS.register_module()
class FlawDetector(BaseModule):
    """Flaw detector F of GCT (Ke et al., ECCV 2020; PixelSSL's).

    Input: ``concat(image, probs)`` with ``in_channels`` channels (the
    caller computes it, e.g. ``num_classes + 3`` for RGB segmentation, or
    ``3 + 3`` for an image-regression task). Each entry of ``channels`` is
    a 4x4 convolution (padding 1, stride from ``strides``) followed by
    :class:`IBNorm` and LeakyReLU(0.2); a final 4x4 stride-2 convolution
    maps to one channel, which is bilinearly upsampled to the input size
    (``align_corners=True``, as PixelSSL's ``F.interpolate``). There is no
    output activation: the output regresses the flaw target in [0, 1] with
    MSE.

    All convolutions have biases, as in PixelSSL: with the default
    ``channels``/``strides`` the parameter count is then exactly
    ``8,269,441 + 1,024 * in_channels``, PixelSSL's; without biases it
    would not match.

    The default network needs inputs of at least 64 px per side (at 32 px
    its last feature map is empty); :meth:`forward` raises a
    ``ValueError`` for smaller inputs (``min_input_size``) and for any
    size whose feature maps would become too small to normalise.

    Args:
        in_channels: channels of ``concat(image, probs)``.
        channels: output channels of the conv + IBNorm + LeakyReLU layers.
        strides: strides of those layers (same length as ``channels``).
        negative_slope: slope of the LeakyReLU.
        min_input_size: smallest accepted input height/width.
        align_corners: of the output's bilinear upsampling (PixelSSL:
            True).
        init_cfg: mmengine initialisation config; ``None`` keeps PyTorch's
            default initialisation, as the official code does.
    """

    def __init__(self,
                 in_channels: int,
                 channels: Sequence[int] = (64, 128, 128, 256, 256, 512,
                                            512),
                 strides: Sequence[int] = (2, 2, 1, 2, 1, 2, 1),
                 negative_slope: float = 0.2,
                 min_input_size: int = 64,
                 align_corners: bool = True,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.align_corners = align_corners
        if len(channels) != len(strides) or not channels:
            raise ValueError(
                'channels and strides must be non-empty and of equal '
                f'length, got {tuple(channels)} and {tuple(strides)}')
        if in_channels < 1:
            raise ValueError(f'in_channels must be >= 1, got {in_channels}')
        self.in_channels = in_channels
        self.channels = tuple(channels)
        self.strides = tuple(strides)
        self.min_input_size = min_input_size
        convs, norms = [], []
        prev = in_channels
        for out, stride in zip(self.channels, self.strides):
            convs.append(
                nn.Conv2d(
                    prev, out, kernel_size=4, stride=stride, padding=1,
                    bias=True))
            norms.append(IBNorm(out))
            prev = out
        self.convs = nn.ModuleList(convs)
        self.norms = nn.ModuleList(norms)
        self.classifier = nn.Conv2d(
            prev, 1, kernel_size=4, stride=2, padding=1, bias=True)
        self.act = nn.LeakyReLU(negative_slope=negative_slope, inplace=True)

    def feature_sizes(self, size: int) -> List[int]:
        """Side lengths of every feature map for an input side ``size``.

        The last entry is the classifier's output; the others are the
        outputs of the IBNorm layers.
        """
        sizes = []
        for stride in self.strides + (2, ):
            # conv k4 p1: floor((size + 2 - 4) / stride) + 1
            size = (size - 2) // stride + 1 if size >= 2 else 0
            sizes.append(size)
        return sizes

    def _check_size(self, height: int, width: int) -> None:
        if height < self.min_input_size or width < self.min_input_size:
            raise ValueError(
                f'FlawDetector needs inputs of at least '
                f'{self.min_input_size}x{self.min_input_size} px, got '
                f'{height}x{width}: its last feature map would be empty '
                'or too small (use crops >= 64 px)')
        hs, ws = self.feature_sizes(height), self.feature_sizes(width)
        too_small = hs[-1] < 1 or ws[-1] < 1 or any(
            h * w < 2 for h, w in zip(hs[:-1], ws[:-1]))
        if too_small:
            raise ValueError(
                f'FlawDetector input {height}x{width} is too small for '
                f'strides {self.strides}: feature map heights {hs}, '
                f'widths {ws}')

    def forward(self, image: Tensor, probs: Tensor) -> Tensor:
        """Predict the flaw map of ``probs``.

        Args:
            image: (N, I, H, W) network input (normalised image).
            probs: (N, O, H, W) task-model output at the image size
                (softmax probabilities for segmentation); ``I + O`` must
                equal ``in_channels``.

        Returns:
            (N, 1, H, W) flaw map (unbounded regression output).
        """
        if image.dim() != 4 or probs.dim() != 4:
            raise ValueError('image and probs must be 4-D (N, C, H, W), got '
                             f'{tuple(image.shape)} and {tuple(probs.shape)}')
        if image.shape[0] != probs.shape[0] or \
                image.shape[2:] != probs.shape[2:]:
            raise ValueError(
                'image and probs must have the same batch size and spatial '
                f'size, got {tuple(image.shape)} and {tuple(probs.shape)}; '
                'resize the prediction to the image size first')
        if image.shape[1] + probs.shape[1] != self.in_channels:
            raise ValueError(
                f'FlawDetector was built for {self.in_channels} input '
                f'channels, got {image.shape[1]} (image) + '
                f'{probs.shape[1]} (probs)')
        height, width = image.shape[2:]
        self._check_size(height, width)
        x = torch.cat((image, probs), dim=1)
        for conv, norm in zip(self.convs, self.norms):
            x = self.act(norm(conv(x)))
        x = self.classifier(x)
        return F.interpolate(
            x, size=(height, width), mode='bilinear',
            align_corners=self.align_corners)
