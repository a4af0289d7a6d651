"""ELN: semi-supervised segmentation with an Error Localization Network
(Kwon & Kwak, CVPR 2022; official code kinux98/SSL_ELN, ``train.py``,
``utils/main_do.py``, ``utils/losses.py``).

Three stages, each a range of iterations in ``semi_train_cfg.stages``::

    pretrain  supervised CE of the segmenter on the labelled images
    eln       + K auxiliary decoders on the detached encoder features (each
              CE counts only while it is >= alpha_k x the main CE), and the
              ELN network learning, from the main and every auxiliary
              prediction, where a prediction is wrong
    semi      + EMA teacher (0.995) pseudo-labels on the unlabelled images,
              kept where ELN accepts them, CE on the student's weak and
              strong views and the pixel contrastive loss on the accepted
              pixels; ELN and the auxiliary decoders frozen

The ELN network lives in the ``pseudo_label_filter`` (an
:class:`~semiseg_mm.models.filters.ELNFilter`), so its weights are saved
under ``pseudo_label_filter.network.`` and a trained one can filter
FixMatch's or Mean Teacher's pseudo-labels.
"""
import copy
from typing import Dict, List, Optional, Sequence

import torch
from torch import Tensor

from semiseg_mm.registry import MODELS
from ..filters import ELNFilter, masked_by
from ..losses.contrastive import cropped_class_contrastive_loss
from ..losses.eln import accepted_cross_entropy, constrained_ce, eln_loss
from ..utils import iteration_generator, valid_mask
from ..utils.forward import forward_parts
from ..utils.stages import StageSpec
from .semi_base import SampleList, SemiBaseSegmentor

#: ELN's contrastive loss settings (official: tau 0.5, 8 crops of 32 x 32
#: of the 1/4-resolution projections, weight 1 per view)
CONTRAST_DEFAULTS = dict(weight=1.0, tau=0.5, crop_size=32, num_crops=8)


@MODELS.register_module()
class ELN(SemiBaseSegmentor):
    """ELN's segmenter, auxiliary decoders and error-localisation network.

    Args:
        segmentor: a :class:`ProjectedEncoderDecoder` config (student and
            EMA teacher): its decode head must expose its features
            (``_forward_feature``), which feed the classifier and the
            projector.
        pseudo_label_filter: an ``ELNFilter`` config; its ``network`` is
            trained in the ``eln`` stage (``trainable`` is set).
        aux_decoder: config of each auxiliary decoder (default: a copy of
            the segmentor's ``decode_head``); they run on the student's
            detached backbone features, so they never train the encoder.

    ``semi_train_cfg``:
        stages: the iteration ranges of ``pretrain``, ``eln``, ``semi``
            (``StageSpec`` below; a stage entry's ``frozen`` overrides the
            method's, e.g. ``frozen=[]`` in ``semi`` keeps training ELN and
            the auxiliary decoders as the official code does).
        aux_alphas: one constraint factor per auxiliary decoder (official
            ``(20, 50)``; their number is K).
        aux_weight, eln_weight: weights of the constrained auxiliary CE
            and of the ELN loss (summed over the K + 1 predictions).
        unsup_weight, rampup: weight of each view's pseudo-label CE.
        contrast: ``dict(weight, tau, crop_size, num_crops)`` of the pixel
            contrastive loss per view (weight 0 turns it off).
    """
    stage_specs = {
        'pretrain': StageSpec(frozen=('aux_decoders', 'pseudo_label_filter'),
                              unlabelled=False),
        'eln': StageSpec(unlabelled=False),
        'semi': StageSpec(frozen=('aux_decoders', 'pseudo_label_filter'),
                          teacher=True),
    }
    semi_train_keys = SemiBaseSegmentor.semi_train_keys + (
        'aux_alphas', 'aux_weight', 'eln_weight', 'contrast')

    def __init__(self,
                 segmentor: dict,
                 pseudo_label_filter: dict,
                 semi_train_cfg: Optional[dict] = None,
                 aux_decoder: Optional[dict] = None,
                 **kwargs) -> None:
        if not isinstance(pseudo_label_filter, dict) or \
                pseudo_label_filter.get('type') not in ('ELNFilter',
                                                        ELNFilter):
            raise ValueError(
                'ELN: pseudo_label_filter must be an ELNFilter config '
                "(dict(type='ELNFilter', network=dict(type='ELNNetwork', "
                f'...))), got {pseudo_label_filter!r}')
        pseudo_label_filter = dict(pseudo_label_filter, trainable=True)
        kwargs.setdefault('with_teacher', True)
        super().__init__(segmentor, semi_train_cfg,
                         pseudo_label_filter=pseudo_label_filter, **kwargs)
        cfg = self.semi_train_cfg
        alphas = tuple(float(a) for a in cfg.get('aux_alphas', (20, 50)))
        if any(a <= 0 for a in alphas):
            raise ValueError(f'ELN: semi_train_cfg.aux_alphas must be > 0, '
                             f'got {alphas}')
        self.aux_alphas = alphas
        head = aux_decoder or segmentor['decode_head']
        self.aux_decoders = torch.nn.ModuleList(
            MODELS.build(copy.deepcopy(head)) for _ in alphas)
        self.aux_weight = float(cfg.get('aux_weight', 1.0))
        self.eln_weight = float(cfg.get('eln_weight', 1.0))
        contrast = dict(CONTRAST_DEFAULTS, **(cfg.get('contrast') or {}))
        unknown = set(contrast) - set(CONTRAST_DEFAULTS)
        if unknown:
            raise ValueError(
                f'ELN: unknown semi_train_cfg.contrast key(s) '
                f'{sorted(unknown)}; known: {sorted(CONTRAST_DEFAULTS)}')
        self.contrast = contrast
        if not hasattr(self.student, 'projector') and \
                contrast['weight'] > 0:
            raise ValueError(
                'ELN: the pixel contrastive loss needs a projector: use '
                "segmentor=dict(type='ProjectedEncoderDecoder', "
                'projector=dict(type=\'ProjectionHead\', ...), ...) or set '
                'semi_train_cfg.contrast.weight=0')

    # ------------------------------------------------------------------ #
    @property
    def eln_network(self) -> torch.nn.Module:
        return self.pseudo_label_filter.network

    def loss(self, multi_inputs: Dict[str, Tensor],
             multi_data_samples: Dict[str, SampleList]) -> dict:
        self.check_batch(multi_inputs, multi_data_samples)
        stage = self.stage
        x_l, s_l = multi_inputs['sup'], multi_data_samples['sup']
        semi = stage is None or stage.teacher
        parts = [x_l]
        if semi:
            x_w, x_s = multi_inputs['unsup_teacher'], multi_inputs[
                'unsup_student']
            parts += [x_w, x_s]
        use_contrast = semi and self.contrast['weight'] > 0
        # 1. the student on the labelled images (and, semi-supervised, on
        #    the weak and the strong unlabelled views), one pass
        out = forward_parts(
            self.student, parts, s_l, with_feats=True,
            with_decoder_feats=use_contrast)
        losses = self.sup_losses(out.losses)
        # 2. auxiliary decoders and ELN on the labelled images
        aux_logits = self.aux_losses(out.feats[0], s_l,
                                     out.losses['decode.loss_ce'], losses)
        if self.trains('pseudo_label_filter'):
            labels_l = self._labelled_masks(s_l, x_l.device)
            preds = [out.logits['decode'][0].detach()] + aux_logits
            loss = sum(
                eln_loss(self.eln_network(x_l, p), p, labels_l)
                for p in preds)
            losses['eln.loss_eln'] = self.eln_weight * loss
        if not semi:
            return losses
        # 3. semi-supervised: the teacher's pseudo-labels where ELN accepts
        #    them, on the weak and the strong view
        s_w, s_s = (multi_data_samples['unsup_teacher'],
                    multi_data_samples['unsup_student'])
        teacher = self.teacher_outputs(x_w, with_decoder_feats=use_contrast)
        logits_t = teacher.logits['decode'][0]
        valid_w = valid_mask(s_w, x_w.shape[-2:], x_w.device)
        labels, confidence, accept = self.filter_pseudo_labels(
            logits_t.softmax(dim=1), valid_w, s_l, images=x_w,
            logits=logits_t)
        valid_s = valid_mask(s_s, x_s.shape[-2:], x_s.device)
        weight = self.current_unsup_weight()
        logits_w, logits_s = out.logits['decode'][1:]
        losses['unsup.loss_ce_weak'] = weight * accepted_cross_entropy(
            logits_w, labels, accept, valid_w)
        losses['unsup.loss_ce_strong'] = weight * accepted_cross_entropy(
            logits_s, labels, accept, valid_s)
        if use_contrast:
            keys = self.teacher.project(teacher.decoder_feats[0])
            kept = torch.where(masked_by(accept, valid_w & valid_s), labels,
                               labels.new_tensor(255))
            for stream, (view, dec) in enumerate(
                    (('weak', out.decoder_feats[1]),
                     ('strong', out.decoder_feats[2]))):
                losses[f'unsup.loss_contrast_{view}'] = self.contrast[
                    'weight'] * cropped_class_contrastive_loss(
                        self.student.project(dec), keys, kept,
                        tau=self.contrast['tau'],
                        crop_size=self.contrast['crop_size'],
                        num_crops=self.contrast['num_crops'],
                        generator=iteration_generator(stream=stream))
        self.record_vis(
            image=x_s,
            pseudo_labels=labels,
            confidence=confidence,
            accept=masked_by(accept, valid_w),
            student_logits=logits_s)
        return losses

    def aux_losses(self, feats: Sequence[Tensor], samples: SampleList,
                   main_ce: Tensor, losses: dict) -> List[Tensor]:
        """The auxiliary decoders' logits on the detached labelled features
        (detached, for ELN) and, when they train in this stage, their
        constrained CE into ``losses`` (``aux{k}.loss_ce``); [] in stages
        where neither they nor ELN learn."""
        trains = self.trains('aux_decoders')
        if not (trains or self.trains('pseudo_label_filter')):
            return []
        feats = [f.detach() for f in feats]
        out = []
        for k, (head, alpha) in enumerate(zip(self.aux_decoders,
                                              self.aux_alphas)):
            if trains:
                logits = head.forward(feats)
                ce = head.loss_by_feat(logits, samples)['loss_ce']
                losses[f'aux{k}.loss_ce'] = self.aux_weight * constrained_ce(
                    ce, main_ce, alpha)
                out.append(logits.detach())
            else:
                with torch.no_grad():
                    out.append(head.forward(feats))
        return out
