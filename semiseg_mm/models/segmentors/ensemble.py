"""Test-time ensembles: the weighted mean of several models' predictions.

ADVENT's best GTA5 -> Cityscapes result (45.5 mIoU) averages the softmax
outputs of an AdvEnt and a MinEnt model, each trained on its own (the
official ``eval_UDA.py`` sums ``weight * softmax`` over the models of
``cfg.TEST.MODEL``); GCT predicts with the mean of its two task models.
Both go through the functions here; :class:`EnsembleSegmentor` builds the
members from configs and loads each from its own checkpoint.
"""
import os.path as osp
from typing import Callable, List, Optional, Sequence

import torch.nn as nn
from mmengine.runner.checkpoint import _load_checkpoint, load_state_dict
from mmseg.models.segmentors.base import BaseSegmentor
from torch import Tensor

from semiseg_mm.registry import MODELS
from ..utils import full_res_logits

SampleList = List
ToPrediction = Callable[[Tensor], Tensor]


def softmax_probs(logits: Tensor) -> Tensor:
    return logits.softmax(dim=1)


def raw_logits(logits: Tensor) -> Tensor:
    return logits


#: EnsembleSegmentor(combine=...): what each member contributes
COMBINE = {'softmax': softmax_probs, 'logits': raw_logits}


def _metas(inputs: Tensor, data_samples: Optional[SampleList]) -> List[dict]:
    if data_samples is not None:
        return [s.metainfo for s in data_samples]
    shape = inputs.shape[2:]
    return [
        dict(ori_shape=shape, img_shape=shape, pad_shape=shape,
             padding_size=[0, 0, 0, 0])
    ] * inputs.shape[0]


def check_weights(weights: Optional[Sequence[float]], n: int,
                  owner: str) -> List[float]:
    """``weights`` (default equal) normalised to sum 1."""
    if weights is None:
        return [1.0 / n] * n
    weights = [float(w) for w in weights]
    if len(weights) != n:
        raise ValueError(f'{owner}: {len(weights)} weights for {n} models')
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError(f'{owner}: weights must be >= 0 with a positive '
                         f'sum, got {weights}')
    total = sum(weights)
    return [w / total for w in weights]


def ensemble_predict(models: Sequence[BaseSegmentor],
                     weights: Sequence[float],
                     inputs: Tensor,
                     data_samples: Optional[SampleList] = None,
                     to_prediction: ToPrediction = softmax_probs
                     ) -> SampleList:
    """mmseg ``predict`` of the ensemble: each model's ``inference``
    (its own ``test_cfg``: whole image or sliding window) turned into
    predictions (softmax probabilities), weighted and summed, then
    post-processed by the first model (``seg_logits`` holds the mean
    probabilities, ``pred_sem_seg`` their argmax)."""
    metas = _metas(inputs, data_samples)
    mean = sum(w * to_prediction(m.inference(inputs, metas))
               for m, w in zip(models, weights))
    return models[0].postprocess_result(mean, data_samples)


def ensemble_forward(models: Sequence[BaseSegmentor],
                     weights: Sequence[float],
                     inputs: Tensor,
                     to_prediction: ToPrediction = softmax_probs) -> Tensor:
    """The weighted mean prediction at the input resolution (the members'
    heads may have different output strides)."""
    return sum(w * to_prediction(full_res_logits(m, inputs))
               for m, w in zip(models, weights))


def ensemble_encode_decode(models: Sequence[BaseSegmentor],
                           weights: Sequence[float],
                           inputs: Tensor,
                           batch_data_samples: SampleList,
                           to_prediction: ToPrediction = softmax_probs
                           ) -> Tensor:
    return sum(w * to_prediction(m.encode_decode(inputs, batch_data_samples))
               for m, w in zip(models, weights))


def select_sub_model(state_dict: dict, prefix: Optional[str],
                     path: str) -> dict:
    """The weights of one sub-model of a checkpoint.

    ``prefix`` names it (``'teacher'``, ``'student'``, ``'model1'``, ...: the
    state-dict keys ``prefix.*``); ``None`` takes a plain segmentor
    checkpoint as it is and refuses one that holds several sub-models."""
    if prefix is None:
        heads = sorted({k.split('.', 1)[0] for k in state_dict})
        plain = {'backbone', 'decode_head', 'auxiliary_head', 'neck',
                 'data_preprocessor'}
        if set(heads) <= plain:
            return dict(state_dict)
        raise ValueError(
            f'{path} holds the sub-models {heads}: say which one to load '
            "with prefix= (e.g. 'teacher' for a Mean Teacher / FixMatch "
            "checkpoint, 'model1' for GCT)")
    lead = prefix.rstrip('.') + '.'
    picked = {k[len(lead):]: v for k, v in state_dict.items()
              if k.startswith(lead)}
    if not picked:
        heads = sorted({k.split('.', 1)[0] for k in state_dict})
        raise KeyError(f"{path} has no weights under prefix {prefix!r}; its "
                       f'top-level keys are {heads}')
    return picked


@MODELS.register_module()
class EnsembleSegmentor(BaseSegmentor):
    """Predict with the weighted mean of N segmentors' softmax outputs (or
    logits).

    Args:
        members: one dict per model: ``model`` (an mmseg segmentor config),
            ``checkpoint`` (the file its weights come from; ``None`` keeps
            the built weights, for tests), ``prefix`` (which sub-model of a
            semi-supervised or UDA checkpoint to take, e.g. ``'teacher'``;
            omit for a plain segmentor checkpoint) and ``weight``
            (default 1; weights are normalised to sum 1).
        data_preprocessor: ``SegDataPreProcessor`` config (the members'
            own preprocessors are not used).
        combine: what is averaged: ``'softmax'`` probabilities (default)
            or raw ``'logits'`` (upsampled to the input), as ADVENT's
            official ``eval_UDA.py`` averages its AdvEnt and MinEnt models.

    Evaluation only: ``tools/test.py CONFIG`` needs no checkpoint argument
    (each member loads its own when built); ``loss()`` refuses.
    """

    def __init__(self,
                 members: Sequence[dict],
                 data_preprocessor: Optional[dict] = None,
                 combine: str = 'softmax',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if combine not in COMBINE:
            raise ValueError(f'EnsembleSegmentor: combine must be one of '
                             f'{tuple(COMBINE)}, got {combine!r}')
        self.combine = combine
        self.to_prediction = COMBINE[combine]
        if not members:
            raise ValueError('EnsembleSegmentor: members is empty')
        models, weights = [], []
        for i, member in enumerate(members):
            member = dict(member)
            unknown = sorted(
                set(member) - {'model', 'checkpoint', 'prefix', 'weight'})
            if unknown or 'model' not in member:
                raise ValueError(
                    f'EnsembleSegmentor: members[{i}] needs model= (and '
                    'optionally checkpoint=, prefix=, weight=); got keys '
                    f'{sorted(member)}')
            model = MODELS.build(member['model'])
            if member.get('checkpoint') is not None:
                self._load(model, member['checkpoint'], member.get('prefix'),
                           i)
            models.append(model)
            weights.append(member.get('weight', 1.0))
        self.members = nn.ModuleList(models)
        self.weights = check_weights(weights, len(models),
                                     'EnsembleSegmentor')
        classes = {m.decode_head.num_classes for m in models}
        if len(classes) != 1:
            raise ValueError('EnsembleSegmentor: the members predict '
                             f'different numbers of classes {sorted(classes)}')

    @staticmethod
    def _load(model: nn.Module, path: str, prefix: Optional[str],
              index: int) -> None:
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'EnsembleSegmentor: members[{index}].checkpoint {path} does '
                'not exist')
        ckpt = _load_checkpoint(path, map_location='cpu')
        state = ckpt.get('state_dict', ckpt)
        state = select_sub_model(state, prefix, path)
        state.pop('data_preprocessor.mean', None)
        state.pop('data_preprocessor.std', None)
        own = model.state_dict()
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        reshaped = sorted(
            f'{k} {tuple(state[k].shape)} vs {tuple(v.shape)}'
            for k, v in own.items()
            if k in state and tuple(state[k].shape) != tuple(v.shape))
        if missing or unexpected or reshaped:
            raise ValueError(
                f'EnsembleSegmentor: {path} (prefix {prefix!r}) does not fit '
                f'members[{index}].model: {len(missing)} missing keys '
                f'{missing[:3]}, {len(unexpected)} unexpected '
                f'{unexpected[:3]}, {len(reshaped)} of another shape '
                f'(checkpoint vs model) {reshaped[:3]}')
        load_state_dict(model, state, strict=True)

    @property
    def num_classes(self) -> int:
        return self.members[0].decode_head.num_classes

    def extract_feat(self, inputs: Tensor) -> List[Tensor]:
        raise ValueError('EnsembleSegmentor has no single feature map; '
                         'ask a member (ensemble.members[i])')

    def encode_decode(self, inputs: Tensor,
                      batch_data_samples: SampleList) -> Tensor:
        return ensemble_encode_decode(self.members, self.weights, inputs,
                                      batch_data_samples, self.to_prediction)

    def predict(self,
                inputs: Tensor,
                data_samples: Optional[SampleList] = None) -> SampleList:
        return ensemble_predict(self.members, self.weights, inputs,
                                data_samples, self.to_prediction)

    def _forward(self,
                 inputs: Tensor,
                 data_samples: Optional[SampleList] = None) -> Tensor:
        return ensemble_forward(self.members, self.weights, inputs,
                                self.to_prediction)

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        raise RuntimeError(
            'EnsembleSegmentor combines trained models for evaluation; '
            'train each member with its own config')


__all__ = [
    'EnsembleSegmentor', 'ensemble_predict', 'ensemble_forward',
    'ensemble_encode_decode', 'check_weights', 'select_sub_model'
]
