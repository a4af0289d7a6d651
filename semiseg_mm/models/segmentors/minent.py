"""MinEnt: direct entropy minimisation on the target (Vu et al., "ADVENT",
CVPR 2019; valeoai/ADVENT ``train_minent``)."""
from typing import Dict

from torch import Tensor

from semiseg_mm.registry import MODELS
from ..losses.uda import minent_loss
from ..utils.forward import PartOutputs
from .uda_base import UDABaseSegmentor, level_names

#: lambda_ent of the official code: main (conv5) and auxiliary (conv4)
ENT_WEIGHTS = dict(decode=0.001, aux=0.0002)


@MODELS.register_module()
class MinEnt(UDABaseSegmentor):
    """Source supervision + ``sum_l lambda_ent_l x`` the mean normalised
    entropy of each level's target softmax. One optimiser (a plain
    ``optim_wrapper``), no discriminator.

    Args:
        uda_cfg:
            - ``ent_weights``: ``{level: lambda_ent}`` (default ``decode``
              0.001 and, with an auxiliary head, ``aux`` 0.0002);
            - ``class_prior``, ``joint_forward``: see
              :class:`UDABaseSegmentor`.
    """
    semi_train_keys = UDABaseSegmentor.semi_train_keys + ('ent_weights', )

    def __init__(self, segmentor: dict, uda_cfg: dict = None,
                 **kwargs) -> None:
        super().__init__(segmentor, uda_cfg=uda_cfg, **kwargs)
        self.ent_weights = self.level_weights('ent_weights', ENT_WEIGHTS)

    def needed_levels(self):
        return tuple(self.ent_weights)

    def target_losses(self, src: PartOutputs, tgt: PartOutputs,
                      probs_t: Dict[str, Tensor], valid_t: Tensor,
                      carry: dict) -> dict:
        return {
            f'ent.loss_ent_{level}':
            self.ent_weights[level] * minent_loss(probs_t[level], valid_t)
            for level in level_names(self.ent_weights)
        }
