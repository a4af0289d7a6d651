"""Multi-branch batches that may lack a branch."""
from typing import Optional, Union

from mmdet.models.data_preprocessors import MultiBranchDataPreprocessor

from semiseg_mm.det.registry import MODELS


def drop_empty_branches(data: dict) -> dict:
    """``data`` (``{'inputs': {branch: [...]}, 'data_samples': {...}}``)
    without the ``None`` entries mmdet's ``MultiBranch`` leaves for the
    branches an image does not feed, and without branches that are then
    empty."""
    cleaned = {
        key: {
            branch: [x for x in values if x is not None]
            for branch, values in data[key].items()
        }
        for key in data
    }
    branches = {
        branch
        for key in cleaned for branch, values in cleaned[key].items()
        if values
    }
    return {
        key: {b: v
              for b, v in cleaned[key].items() if b in branches}
        for key in cleaned
    }


@MODELS.register_module()
class SemiDetDataPreprocessor(MultiBranchDataPreprocessor):
    """mmdet's ``MultiBranchDataPreprocessor`` for batches whose labelled
    (or unlabelled) part may be empty, as a scheduled labelled share makes
    them: a branch with no image in the batch is left out of the result
    instead of reaching the inner preprocessor as an empty list (which
    cannot be stacked). The detector then sees no ``sup`` key and skips the
    supervised loss."""

    def forward(self, data: dict, training: bool = False) -> dict:
        if not training:
            return self.data_preprocessor(data, training)
        return super().forward(drop_empty_branches(data), training)


def semi_det_preprocessor(cfg: Optional[Union[dict, object]],
                          detector: dict) -> Optional[Union[dict, object]]:
    """The semi-supervised detector's preprocessor config: ``cfg`` if it
    already is a multi-branch one (or a built module), else
    :class:`SemiDetDataPreprocessor` around ``cfg`` or, for ``None``, around
    the detector's own ``data_preprocessor``."""
    if cfg is None:
        cfg = detector.get('data_preprocessor')
        if cfg is None:
            return None
    if not isinstance(cfg, dict):
        return cfg
    name = str(cfg.get('type', '')).split('.')[-1]
    if name in ('MultiBranchDataPreprocessor', 'SemiDetDataPreprocessor'):
        if name == 'MultiBranchDataPreprocessor':
            cfg = dict(cfg, type='SemiDetDataPreprocessor')
        return cfg
    return dict(type='SemiDetDataPreprocessor', data_preprocessor=dict(cfg))
