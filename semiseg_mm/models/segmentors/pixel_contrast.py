"""Stage 1 of label-based pixel contrastive pretraining (Zhao et al.,
"Contrastive Learning for Label-Efficient Semantic Segmentation", ICCV
2021; official TensorFlow loss google-research
``supervised_pixel_contrastive_loss``).

The backbone and a projection head learn, from the labelled images alone,
to put pixels of one class close together and pixels of different classes
apart (:class:`~semiseg_mm.models.losses.PixelContrastiveLoss`), on each
image and a distorted copy of it (two branches of the batch, ``orig`` and
``distorted``, each with its own mask). Stage 2 is a plain mmseg
fine-tuning config: the same backbone, loaded from the stage-1 checkpoint
(``backbone.init_cfg=dict(type='Pretrained', checkpoint=..., prefix=
'backbone.')``: the projection head stays behind), and a fresh decode head
trained with pixel CE. ``tools/pretrain_finetune.py`` runs both.
"""
from typing import Dict, List, Optional

import torch
from mmseg.models.segmentors import BaseSegmentor
from torch import Tensor

from semiseg_mm.registry import MODELS
from ..utils import iteration_generator

#: the batch branches of stage 1 (``mmdet.MultiBranch`` in the pipeline)
BRANCHES = ('orig', 'distorted')


@MODELS.register_module()
class PixelContrastPretrain(BaseSegmentor):
    """Backbone + projection head, trained with the pixel contrastive loss.

    Args:
        backbone: an mmseg backbone config (the one stage 2 fine-tunes).
        projection_head: a :class:`ProjectionHead` config (paper: three
            1x1 convs of 256 channels, ReLU after the first two, L2
            normalisation); ``in_channels`` defaults to nothing: give the
            backbone's channels at ``in_index``.
        loss_contrast: a :class:`PixelContrastiveLoss` config.
        in_index: which backbone output the head projects (default: the
            last, the deepest features).
        neck: optional mmseg neck between them.
    """

    def __init__(self,
                 backbone: dict,
                 projection_head: dict,
                 loss_contrast: Optional[dict] = None,
                 in_index: int = -1,
                 neck: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck) if neck is not None else None
        self.projection_head = MODELS.build(projection_head)
        self.loss_contrast = MODELS.build(
            loss_contrast or dict(type='PixelContrastiveLoss'))
        self.in_index = in_index
        self.train_cfg, self.test_cfg = train_cfg, test_cfg

    # ------------------------------------------------------------------ #
    def extract_feat(self, inputs: Tensor) -> Tensor:
        feats = self.backbone(inputs)
        if self.neck is not None:
            feats = self.neck(feats)
        if isinstance(feats, (list, tuple)):
            feats = feats[self.in_index]
        return feats

    def project(self, inputs: Tensor) -> Tensor:
        """(N, D, h, w) pixel embeddings of preprocessed images."""
        return self.projection_head(self.extract_feat(inputs))

    def loss(self, multi_inputs: Dict[str, Tensor],
             multi_data_samples: Dict[str, List]) -> dict:
        """The contrastive loss of each image and its distorted copy: one
        backbone pass over both branches."""
        missing = [b for b in BRANCHES if b not in multi_inputs]
        if missing:
            raise KeyError(
                f'PixelContrastPretrain: the batch has no {missing} branch: '
                "the training pipeline ends with dict(type='mmdet."
                f"MultiBranch', branch_field={list(BRANCHES)}, orig=[...], "
                'distorted=[...]) (configs/_base_/datasets/'
                'pixel_contrast_views.py), got branches '
                f'{sorted(multi_inputs)}')
        x_o, x_d = (multi_inputs[b] for b in BRANCHES)
        if x_o.shape != x_d.shape:
            raise ValueError(
                'PixelContrastPretrain: the two views must have one size '
                f'(one backbone pass), got {tuple(x_o.shape)} and '
                f'{tuple(x_d.shape)}')
        masks = [self._masks(multi_data_samples[b]) for b in BRANCHES]
        proj = self.project(torch.cat([x_o, x_d]))
        p_o, p_d = proj.split(x_o.shape[0])
        loss = self.loss_contrast(p_o, masks[0], p_d, masks[1],
                                  generator=iteration_generator())
        return {'loss_contrast': loss}

    @staticmethod
    def _masks(samples) -> Tensor:
        return torch.stack([s.gt_sem_seg.data[0] for s in samples])

    # ------------------------------------------------------------------ #
    # stage 1 has no classifier: nothing to predict
    # ------------------------------------------------------------------ #
    def _no_classifier(self):
        raise RuntimeError(
            'PixelContrastPretrain is stage 1 (backbone + projection head, '
            'no classifier): it cannot segment. Fine-tune its checkpoint '
            'with the matching *_finetune.py config (tools/'
            'pretrain_finetune.py runs both stages), and evaluate that')

    def predict(self, inputs, data_samples=None):
        self._no_classifier()

    def encode_decode(self, inputs, batch_img_metas):
        self._no_classifier()

    def _forward(self, inputs, data_samples=None) -> Tensor:
        return self.project(inputs)
