"""An mmseg ``EncoderDecoder`` with a projection head on its decoder
features, so an EMA teacher copied from it carries the projector too (ELN's
teacher keys come from the teacher's own projector)."""
from mmseg.models.segmentors import EncoderDecoder
from torch import Tensor

from semiseg_mm.registry import MODELS


@MODELS.register_module()
class ProjectedEncoderDecoder(EncoderDecoder):
    """``EncoderDecoder`` + ``projector`` (a :class:`ProjectionHead`
    config; ``in_channels`` defaults to the decode head's ``channels``).

    Training and inference are mmseg's; :meth:`project` gives the
    projection of decoder features (``forward_parts(...,
    with_decoder_feats=True)``).

    ``decode_with_cp=True``: in the training passes of
    :func:`~semiseg_mm.models.utils.forward.forward_parts` (the
    semi-supervised methods' student passes) the decode head keeps only its
    inputs and runs again in the backward pass (activation checkpointing,
    batch-norm statistics updated once): less memory for one more forward of
    the head. mmseg's own ``loss``/``predict`` paths are unchanged.
    """

    def __init__(self,
                 projector: dict,
                 decode_with_cp: bool = False,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.decode_with_cp = bool(decode_with_cp)
        projector = dict(projector)
        projector.setdefault('in_channels', self.decode_head.channels)
        self.projector = MODELS.build(projector)

    def project(self, decoder_feats: Tensor) -> Tensor:
        return self.projector(decoder_feats)
