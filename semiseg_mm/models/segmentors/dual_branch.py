"""Strong-weak dual branch (Luo & Yang, "Semi-supervised Semantic
Segmentation via Strong-weak Dual-branch Network", ECCV 2021; no public
code).

A few images have pixel masks (strong), many have only weak or noisy ones.
One shared backbone feeds two heads: the *strong* head learns only from the
ground-truth masks, the *weak* head only from the weak ones, so the label
noise reaches the shared features but never the head that predicts;
inference uses the strong head. Per iteration::

    1. weak targets for the weakly labelled images   (weak_targets(), the
       hook the variants override)
    2. one backbone pass over labelled + weakly labelled images
    3. strong head: mmseg's CE on the labelled part only
    4. weak head: CE on the weakly labelled part over the accepted pixels

Variants:

* :class:`DualBranch`: weak masks read from disk (the batch's ``weak``
  branch carries them as ``gt_sem_seg``: a dataset whose ``seg_map_path``
  is the weak-mask folder);
* :class:`TeacherDualBranch`: weak masks made online by an EMA teacher (the
  strong head of the EMA student) on the weak view of unlabelled images,
  optionally filtered by a ``pseudo_label_filter``, learnt on the strong
  view (CutMix as FixMatch's): FixMatch whose pseudo-labels train a second
  head instead of the one that predicts.
"""
import copy
from typing import Dict, Optional, Tuple

import torch
from mmseg.models.utils import resize
from torch import Tensor

from semiseg_mm.registry import MODELS
from ..filters import accepted_share, masked_by
from ..losses.consistency import masked_cross_entropy
from ..utils import cutmix_batch, valid_mask
from .semi_base import SampleList, SemiBaseSegmentor


@MODELS.register_module()
class DualBranch(SemiBaseSegmentor):
    """Shared backbone, a strong head on ground truth, a weak head on weak
    masks read from disk.

    Args:
        segmentor: an mmseg ``EncoderDecoder`` config; its ``decode_head``
            is the strong head (and the prediction).
        weak_head: config of the weak head (default: a copy of the decode
            head's); saved as ``weak_head.*``.

    ``semi_train_cfg``: ``unsup_weight`` and ``rampup`` weight the weak
    head's CE; ``sup_weight`` the strong head's.
    """
    train_branches = ('sup', 'weak')

    def __init__(self,
                 segmentor: dict,
                 semi_train_cfg: Optional[dict] = None,
                 weak_head: Optional[dict] = None,
                 **kwargs) -> None:
        kwargs.setdefault('with_teacher', False)
        super().__init__(segmentor, semi_train_cfg, **kwargs)
        head = copy.deepcopy(weak_head or segmentor['decode_head'])
        self.weak_head = MODELS.build(head)
        strong = self.student.decode_head
        if self.weak_head.out_channels != strong.out_channels:
            raise ValueError(
                f'DualBranch: the weak head predicts '
                f'{self.weak_head.out_channels} classes, the strong head '
                f'{strong.out_channels} (weak_head.num_classes must match '
                'segmentor.decode_head.num_classes)')

    # ------------------------------------------------------------------ #
    def weak_targets(self, multi_inputs: Dict[str, Tensor],
                     multi_data_samples: Dict[str, SampleList]
                     ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """``(images, labels, accept, valid)`` of the weakly labelled part:
        the ``weak`` branch's images and masks; every pixel whose mask is
        not the ignore index is accepted."""
        x = multi_inputs['weak']
        samples = multi_data_samples['weak']
        ignore = self.ignore_index_of_labels()
        labels = torch.stack([s.gt_sem_seg.data[0] for s in samples]).to(
            x.device).long()
        if labels.shape[-2:] != x.shape[-2:]:
            raise ValueError(
                f'DualBranch: weak masks of {tuple(labels.shape[-2:])} for '
                f'images of {tuple(x.shape[-2:])}: the weak branch pipeline '
                'must transform image and mask together (LoadAnnotations '
                'before the geometric transforms)')
        valid = valid_mask(samples, x.shape[-2:], x.device)
        accept = labels != ignore
        labels = torch.where(accept, labels, torch.zeros_like(labels))
        return x, labels, accept, valid

    def loss(self, multi_inputs: Dict[str, Tensor],
             multi_data_samples: Dict[str, SampleList]) -> dict:
        self.check_batch(multi_inputs, multi_data_samples)
        x_l, s_l = multi_inputs['sup'], multi_data_samples['sup']
        weight = self.current_unsup_weight()
        if weight == 0:  # warm-up: the strong head alone
            return self.sup_losses(self.student.loss(x_l, s_l))
        # 1. the weak targets
        x_u, labels, accept, valid = self.weak_targets(
            multi_inputs, multi_data_samples)
        # 2. one backbone pass (two when the sizes differ)
        feats_l, feats_u = self.shared_features(x_l, x_u)
        # 3. strong head on ground truth only (and the auxiliary heads)
        losses = self.student._decode_head_forward_train(feats_l, s_l)
        if self.student.with_auxiliary_head:
            losses.update(
                self.student._auxiliary_head_forward_train(feats_l, s_l))
        losses = self.sup_losses(losses)
        # 4. weak head on the weak targets only
        logits = self.weak_logits(feats_u, x_u)
        losses['weak.loss_ce'] = weight * masked_cross_entropy(
            logits, labels, accept, valid)
        with torch.no_grad():
            losses['weak.accept_ratio'] = accepted_share(accept, valid)
        self.record_vis(image=x_u, weak_labels=torch.where(
            masked_by(accept, valid), labels, labels.new_tensor(255)),
            weak_head_logits=logits)
        return losses

    def shared_features(self, x_l: Tensor, x_u: Tensor):
        """Backbone (+ neck) features of both parts, one pass when their
        sizes agree (BatchNorm over both, as the semi-supervised methods)."""
        if x_l.shape[-2:] == x_u.shape[-2:]:
            feats = self.student.extract_feat(torch.cat([x_l, x_u]))
            n = x_l.shape[0]
            return ([f[:n] for f in feats], [f[n:] for f in feats])
        return self.student.extract_feat(x_l), self.student.extract_feat(x_u)

    def weak_logits(self, feats, inputs: Tensor) -> Tensor:
        logits = self.weak_head.forward(feats)
        if logits.shape[-2:] != inputs.shape[-2:]:
            logits = resize(logits, size=inputs.shape[-2:], mode='bilinear',
                            align_corners=self.weak_head.align_corners)
        return logits


@MODELS.register_module()
class TeacherDualBranch(DualBranch):
    """:class:`DualBranch` whose weak masks an EMA teacher makes online:
    its pseudo-labels on the weak view of each unlabelled image (kept where
    the ``pseudo_label_filter`` accepts them; default: every pixel, the
    weak head is there to absorb the noise), learnt by the weak head on the
    strong view, CutMixed as in FixMatch (``semi_train_cfg.cutmix``).
    Needs ``EMATeacherHook``."""
    train_branches = ('sup', 'unsup_teacher', 'unsup_student')
    semi_train_keys = DualBranch.semi_train_keys + ('cutmix', )

    def __init__(self, segmentor: dict, semi_train_cfg: Optional[dict] = None,
                 **kwargs) -> None:
        kwargs.setdefault('with_teacher', True)
        super().__init__(segmentor, semi_train_cfg, **kwargs)
        self.use_cutmix = bool(self.semi_train_cfg.get('cutmix', True))

    def weak_targets(self, multi_inputs, multi_data_samples):
        x_w = multi_inputs['unsup_teacher']
        x_s, s_s = (multi_inputs['unsup_student'],
                    multi_data_samples['unsup_student'])
        logits = self.teacher_logits(x_w, self.pseudo_source)
        valid_w = valid_mask(multi_data_samples['unsup_teacher'],
                             x_w.shape[-2:], x_w.device)
        labels, _, accept = self.filter_pseudo_labels(
            logits.softmax(dim=1), valid_w, multi_data_samples['sup'],
            images=x_w, logits=logits)
        valid = valid_mask(s_s, x_s.shape[-2:], x_s.device)
        if self.use_cutmix:
            x_s, labels, accept, valid = cutmix_batch(
                s_s, (x_s, labels, accept, valid))
        return x_s, labels, accept, valid
