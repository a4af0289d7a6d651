"""FixMatch-style pseudo-labelling for segmentation (Sohn et al. 2020;
UniMatch's strong-view branch, Yang et al. CVPR 2023)."""
from typing import Dict

import torch
import torch.nn.functional as F
from torch import Tensor

from semiseg_mm.registry import MODELS
from ..filters import ConfidenceFilter, accepted_share, masked_by
from ..losses.consistency import masked_cross_entropy
from ..utils import cutmix_batch, joint_forward, valid_mask
from .semi_base import SampleList, SemiBaseSegmentor


@MODELS.register_module()
class FixMatch(SemiBaseSegmentor):
    """Confident pseudo-labels on the weak view supervise the strong view.

    Per iteration: (1) hard pseudo-labels and confidences from the teacher
    (EMA) or the student itself on the weak view, and which of them to
    learn from (the ``pseudo_label_filter``; default FixMatch's confidence
    threshold); (2) optional CutMix: the strong view of image i takes a box
    from image i+1 of the batch, and its pseudo-labels, acceptance and
    padding mask are mixed identically; (3) CE on the strong view over the
    accepted pixels (weighted, for soft filters), normalised by all valid
    pixels; plus CE on the labelled images.

    Args:
        pseudo_label_filter: a registered filter config (see
            :mod:`semiseg_mm.models.filters`); default
            ``ConfidenceFilter(threshold=semi_train_cfg.threshold)``.

    ``semi_train_cfg``:
        pseudo_source: ``'teacher'`` (EMA teacher; needs
            ``EMATeacherHook``) or ``'student'`` (same model, no teacher,
            as in FixMatch/UniMatch).
        threshold: the default filter's confidence threshold (0.95 VOC, 0
            Cityscapes in UniMatch; default 0.95); with a
            ``pseudo_label_filter`` it belongs in the filter's config.
        cutmix: mix strong views with ``GenerateCutMixBox`` boxes.
        unsup_weight, rampup, sup_weight: as in :class:`SemiBaseSegmentor`
            (``rampup.start_iters`` gives a supervised warm-up).
        feature_perturbation: ``None`` or UniMatch's feature-perturbation
            stream, ``dict(drop_prob=0.5, weight=0.5)``: the student also
            sees the weak view with channel dropout (``Dropout2d``) on its
            backbone features and learns the same accepted pseudo-labels
            there; its CE is scaled by ``weight`` and the ramp-up (UniMatch:
            sup 1, image stream 0.5, feature stream 0.5).
    """
    semi_train_keys = SemiBaseSegmentor.semi_train_keys + (
        'pseudo_source', 'threshold', 'cutmix', 'feature_perturbation')

    def __init__(self, segmentor: dict, semi_train_cfg: dict = None,
                 **kwargs) -> None:
        cfg = dict(semi_train_cfg or {})
        source = cfg.get('pseudo_source', 'teacher')
        if source not in ('teacher', 'student'):
            raise ValueError("semi_train_cfg.pseudo_source must be 'teacher' "
                             f"or 'student', got {source!r}")
        if kwargs.get('pseudo_label_filter') and 'threshold' in cfg:
            raise ValueError(
                'FixMatch: semi_train_cfg.threshold sets the default '
                'ConfidenceFilter; with pseudo_label_filter='
                f"{dict(kwargs['pseudo_label_filter'])} put the threshold "
                'in the filter\'s config')
        kwargs.setdefault('with_teacher', source == 'teacher')
        super().__init__(segmentor, cfg, **kwargs)
        self.pseudo_source = source
        self.use_cutmix = bool(cfg.get('cutmix', True))
        fp = cfg.get('feature_perturbation')
        if fp is not None:
            unknown = set(fp) - {'drop_prob', 'weight'}
            drop = float(fp.get('drop_prob', 0.5))
            if unknown or not 0 < drop < 1:
                raise ValueError(
                    'semi_train_cfg.feature_perturbation must be '
                    'dict(drop_prob=<in (0, 1)>, weight=<float>), got '
                    f'{dict(fp)}')
            self.fp_drop = drop
            self.fp_weight = float(fp.get('weight', 0.5))
        self.with_fp = fp is not None

    def default_filter(self) -> dict:
        return dict(type='ConfidenceFilter',
                    threshold=float(self.semi_train_cfg.get('threshold',
                                                            0.95)))

    @property
    def threshold(self) -> float:
        """The confidence threshold, when the filter is a
        ``ConfidenceFilter``."""
        return self._confidence_filter().threshold

    @threshold.setter
    def threshold(self, value: float) -> None:
        self._confidence_filter().threshold = float(value)

    def _confidence_filter(self) -> ConfidenceFilter:
        if not isinstance(self.pseudo_label_filter, ConfidenceFilter):
            # not AttributeError: nn.Module would hide the message
            raise TypeError(
                f'FixMatch filters with '
                f'{type(self.pseudo_label_filter).__name__}, which has no '
                'single threshold')
        return self.pseudo_label_filter

    def loss(self, multi_inputs: Dict[str, Tensor],
             multi_data_samples: Dict[str, SampleList]) -> dict:
        self.check_batch(multi_inputs, multi_data_samples)
        x_l, s_l = multi_inputs['sup'], multi_data_samples['sup']
        x_w = multi_inputs['unsup_teacher']
        x_s, s_s = (multi_inputs['unsup_student'],
                    multi_data_samples['unsup_student'])
        weight = self.current_unsup_weight()
        if weight == 0:  # warm-up: supervised only
            return self.sup_losses(self.student.loss(x_l, s_l))

        # 1. pseudo-labels on the weak view, and which pixels to learn from
        logits_w = self.teacher_logits(x_w, self.pseudo_source)
        probs = logits_w.softmax(dim=1)
        valid_w = valid_mask(multi_data_samples['unsup_teacher'],
                             x_w.shape[-2:], x_w.device)
        labels, confidence, accept = self.filter_pseudo_labels(
            probs, valid_w, s_l, images=x_w, logits=logits_w)
        valid = valid_mask(s_s, x_s.shape[-2:], x_s.device)
        if self.with_fp:  # the feature stream learns the un-mixed targets
            targets_fp = (labels, accept, valid_w)
        # 2. CutMix the strong views and their targets identically
        if self.use_cutmix:
            x_s, labels, accept, valid, confidence = cutmix_batch(
                s_s, (x_s, labels, accept, valid, confidence))
        # 3. student on labelled + strong views (+ the weak view with
        #    dropped feature channels), one pass
        if self.with_fp:
            sup, (logits_s, logits_fp) = joint_forward(
                self.student, x_l, s_l, [x_s, x_w],
                perturb=[None, self.drop_features])
        else:
            sup, (logits_s, ) = joint_forward(self.student, x_l, s_l, [x_s])
        loss_u = masked_cross_entropy(logits_s, labels, accept, valid)
        self.record_vis(
            image=x_s,
            pseudo_labels=labels,
            confidence=confidence,
            accept=masked_by(accept, valid),
            student_logits=logits_s)
        losses = self.sup_losses(sup)
        losses['unsup.loss_ce'] = weight * loss_u
        if self.with_fp:
            losses['unsup.loss_fp'] = weight * self.fp_weight * \
                masked_cross_entropy(logits_fp, *targets_fp)
        with torch.no_grad():
            losses['unsup.accept_ratio'] = accepted_share(accept, valid)
        losses['unsup.weight'] = loss_u.new_tensor(weight)
        return losses

    def drop_features(self, feats: Tensor) -> Tensor:
        """UniMatch's feature perturbation: ``Dropout2d`` on a feature map
        (whole channels zeroed per image, the rest scaled by 1/(1-p))."""
        return F.dropout2d(feats, self.fp_drop, training=True)
