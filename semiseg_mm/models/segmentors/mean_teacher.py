"""Mean Teacher (Tarvainen & Valpola, NeurIPS 2017) for segmentation."""
from typing import Dict

from torch import Tensor

from semiseg_mm.registry import MODELS
from ..losses.consistency import CONSISTENCY_LOSSES
from ..utils import joint_forward, valid_mask
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
    """

    def __init__(self, segmentor: dict, semi_train_cfg: dict = None,
                 **kwargs) -> None:
        super().__init__(segmentor, semi_train_cfg, **kwargs)
        name = self.semi_train_cfg.get('consistency', 'mse')
        if name not in CONSISTENCY_LOSSES:
            raise ValueError(f'semi_train_cfg.consistency must be one of '
                             f'{sorted(CONSISTENCY_LOSSES)}, got {name!r}')
        self.consistency = CONSISTENCY_LOSSES[name]

    def loss(self, multi_inputs: Dict[str, Tensor],
             multi_data_samples: Dict[str, SampleList]) -> dict:
        self.check_batch(multi_inputs, multi_data_samples)
        x_l, s_l = multi_inputs['sup'], multi_data_samples['sup']
        x_t = multi_inputs['unsup_teacher']
        x_s = multi_inputs['unsup_student']
        weight = self.current_unsup_weight()
        if weight == 0:  # warm-up: supervised only, skip the unlabelled work
            return self.sup_losses(self.student.loss(x_l, s_l))

        # 1. student on labelled + student view, one pass
        sup, (student_logits, ) = joint_forward(self.student, x_l, s_l, [x_s])
        # 2. teacher on the teacher view (no gradient)
        teacher_probs = self.teacher_probs(x_t)
        # 3. consistency on the image pixels (not the padding)
        valid = valid_mask(multi_data_samples['unsup_student'],
                           x_s.shape[-2:], x_s.device)
        cons = self.consistency(student_logits, teacher_probs, valid)
        self.record_vis(
            image=x_t,
            teacher_probs=teacher_probs,
            student_logits=student_logits,
            valid=valid)
        losses = self.sup_losses(sup)
        losses['unsup.loss_cons'] = weight * cons
        losses['unsup.weight'] = cons.new_tensor(weight)
        return losses
