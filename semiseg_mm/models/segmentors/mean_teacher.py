"""Mean Teacher (Tarvainen & Valpola, NeurIPS 2017) for segmentation."""
from typing import Dict

from torch import Tensor

from semiseg_mm.registry import MODELS
from ..filters import accepted_share, masked_by
from ..losses.consistency import CONSISTENCY_LOSSES
from ..utils import cutmix_batch, joint_forward, valid_mask
from .semi_base import SampleList, SemiBaseSegmentor


@MODELS.register_module()
class MeanTeacher(SemiBaseSegmentor):
    """Student: CE on labelled images + a ramped consistency cost between its
    prediction on the (noisy) student view and the EMA teacher's prediction
    on the teacher view of each unlabelled image. The teacher (updated by
    ``EMATeacherHook``) predicts at test time.

    ``semi_train_cfg``:
        consistency: ``'mse'`` (softmax MSE, PixelSSL) or ``'kl'``.
        unsup_weight: consistency weight (1.0 in PixelSSL; TorchSemiSeg uses
            MSE x 100 without ramp-up).
        rampup: ``dict(kind='sigmoid', rampup_iters=..., start_iters=0)``
            (PixelSSL: sigmoid over 3 epochs of the unlabelled set).
        sup_weight: weight of the supervised losses.
        cutmix: mix the student views with their ``GenerateCutMixBox``
            boxes and the teacher's probabilities with the same boxes
            (French et al., BMVC 2020, "CutMix-Seg": Mean Teacher with a
            mixing perturbation); default False (the plain Mean Teacher).

    ``pseudo_label_filter`` (optional, a registered filter config): the
    consistency then covers only the pixels the filter accepts (weighted by
    soft filters), averaged over them; default: every image pixel, as Mean
    Teacher.
    """
    semi_train_keys = SemiBaseSegmentor.semi_train_keys + ('consistency',
                                                           'cutmix')

    def __init__(self, segmentor: dict, semi_train_cfg: dict = None,
                 **kwargs) -> None:
        super().__init__(segmentor, semi_train_cfg, **kwargs)
        name = self.semi_train_cfg.get('consistency', 'mse')
        if name not in CONSISTENCY_LOSSES:
            raise ValueError(f'semi_train_cfg.consistency must be one of '
                             f'{sorted(CONSISTENCY_LOSSES)}, got {name!r}')
        self.consistency = CONSISTENCY_LOSSES[name]
        self.use_cutmix = bool(self.semi_train_cfg.get('cutmix', False))

    def loss(self, multi_inputs: Dict[str, Tensor],
             multi_data_samples: Dict[str, SampleList]) -> dict:
        self.check_batch(multi_inputs, multi_data_samples)
        x_l, s_l = multi_inputs['sup'], multi_data_samples['sup']
        x_t = multi_inputs['unsup_teacher']
        x_s, s_s = (multi_inputs['unsup_student'],
                    multi_data_samples['unsup_student'])
        weight = self.current_unsup_weight()
        if weight == 0:  # warm-up: supervised only, skip the unlabelled work
            return self.sup_losses(self.student.loss(x_l, s_l))

        # 1. teacher on the teacher view (no gradient); with a filter, the
        #    pixels whose targets the student follows
        teacher_logits = self.teacher_logits(x_t)
        teacher_probs = teacher_logits.softmax(dim=1)
        valid = valid_mask(s_s, x_s.shape[-2:], x_s.device)
        if self.pseudo_label_filter is not None:
            _, _, accept = self.filter_pseudo_labels(
                teacher_probs, valid, s_l, images=x_t, logits=teacher_logits)
            ratio = accepted_share(accept, valid)
            valid = masked_by(accept, valid)
        else:  # every pixel: the health hook sees the teacher's argmax
            self.record_pseudo_label_stats(
                teacher_probs.max(dim=1).indices, valid, valid, s_l)
        # 2. optional CutMix of the student views and, identically, of the
        #    teacher's targets
        if self.use_cutmix:
            x_s, teacher_probs, valid = cutmix_batch(
                s_s, (x_s, teacher_probs, valid))
        # 3. student on labelled + student view, one pass
        sup, (student_logits, ) = joint_forward(self.student, x_l, s_l, [x_s])
        # 4. consistency on the image pixels (not the padding)
        cons = self.consistency(student_logits, teacher_probs, valid)
        self.record_vis(
            image=x_s if self.use_cutmix else x_t,  # aligned with targets
            teacher_probs=teacher_probs,
            student_logits=student_logits,
            valid=valid)
        losses = self.sup_losses(sup)
        losses['unsup.loss_cons'] = weight * cons
        if self.pseudo_label_filter is not None:
            losses['unsup.accept_ratio'] = ratio
        losses['unsup.weight'] = cons.new_tensor(weight)
        return losses
