"""The shared machinery of multi-network methods: frozen parameters during a
step, the multi-optimiser train step, forward helpers for every output
level, and the test-time ensemble (GCT, UDA and later methods use them)."""
import copy

import pytest
import torch
import torch.nn as nn
from mmengine.config import ConfigDict
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from helpers import tiny_segmentor
from semiseg_mm.models.segmentors import MultiOptimMixin, OptimStep
from semiseg_mm.models.utils import (frozen_params, full_res_logits,
                                     joint_forward)
from semiseg_mm.models.utils.forward import (decoder_features, forward_parts,
                                             output_heads)
from semiseg_mm.registry import MODELS

SIZE = 16


def multilevel_segmentor(num_classes=3):
    """DeepLabv2-style: the main head on the last stage, an auxiliary head
    (loss weight 0.1, as AdaptSegNet's lambda_seg) on the first."""
    head = dict(type='DeepLabV2Head', dilations=(1, 2),
                num_classes=num_classes,
                loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0))
    return dict(
        type='EncoderDecoder',
        backbone=dict(type='DilatedConvNet', stem_channels=4, channels=8,
                      dilations=(1, 2)),
        decode_head=dict(head, in_channels=8, in_index=1),
        auxiliary_head=dict(
            head, in_channels=4, in_index=0,
            loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.1)),
        train_cfg=ConfigDict(),
        test_cfg=ConfigDict(mode='whole'))


def samples(n, num_classes=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        s = SegDataSample()
        s.set_metainfo(dict(img_shape=(SIZE, SIZE), ori_shape=(SIZE, SIZE),
                            pad_shape=(SIZE, SIZE),
                            padding_size=[0, 0, 0, 0]))
        s.gt_sem_seg = PixelData(
            data=torch.randint(0, num_classes, (1, SIZE, SIZE), generator=g))
        out.append(s)
    return out


# --------------------------------------------------------------------- #
# frozen_params
# --------------------------------------------------------------------- #
def test_frozen_params_blocks_gradients_and_restores_flags():
    a, b = nn.Linear(2, 2), nn.Linear(2, 1)
    b.bias.requires_grad_(False)  # frozen before: must stay frozen
    x = torch.randn(4, 2)
    with frozen_params(b):
        assert not any(p.requires_grad for p in b.parameters())
        loss = b(a(x)).sum()
    loss.backward()  # after the block: b still gets nothing
    assert a.weight.grad is not None and b.weight.grad is None
    assert b.weight.requires_grad and not b.bias.requires_grad
    with pytest.raises(RuntimeError, match='boom'):
        with frozen_params(a):
            raise RuntimeError('boom')
    assert a.weight.requires_grad  # restored on errors too


# --------------------------------------------------------------------- #
# MultiOptimMixin
# --------------------------------------------------------------------- #
class ToyGAN(MultiOptimMixin, BaseModel):
    """g maps x; d judges g(x). Step 1 trains g through a frozen d; step
    2 trains d on g's detached output carried over from step 1."""

    def __init__(self):
        super().__init__()
        self.g = nn.Linear(2, 2)
        self.d = nn.Linear(2, 1)
        self.calls = []

    def optim_steps(self):
        return (OptimStep('g', self.g_losses, frozen=('d', )),
                OptimStep('d', self.d_losses))

    def g_losses(self, batch, carry):
        self.calls.append(('g', [p.requires_grad for p in self.d.parameters()]))
        out = self.g(batch['inputs'])
        carry['out'] = out.detach()
        return {'g.loss_adv': self.d(out).mean()}

    def d_losses(self, batch, carry):
        self.calls.append(('d', [p.requires_grad for p in self.d.parameters()]))
        return {'d.loss_d': (self.d(carry['out'])**2).mean()}

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self.g(inputs)


def toy_optim(model):
    return OptimWrapperDict(
        g=OptimWrapper(torch.optim.SGD(model.g.parameters(), lr=0.1)),
        d=OptimWrapper(torch.optim.SGD(model.d.parameters(), lr=0.1)))


def test_steps_run_in_order_each_updating_its_own_network():
    torch.manual_seed(0)
    model = ToyGAN()
    ow = toy_optim(model)
    g0 = copy.deepcopy(model.g.state_dict())
    d0 = copy.deepcopy(model.d.state_dict())
    data = {'inputs': torch.randn(4, 2)}
    x = data['inputs']
    # expected: g's step uses d before d moves; d's step the g output
    # computed *before* g's update (carried, not recomputed)
    g_ref, d_ref = copy.deepcopy(model.g), copy.deepcopy(model.d)
    out = g_ref(x)
    d_ref(out).mean().backward()
    with torch.no_grad():
        g_new = {k: v - 0.1 * dict(g_ref.named_parameters())[k].grad
                 for k, v in g0.items()}
    d_ref.zero_grad()
    (d_ref(out.detach())**2).mean().backward()
    with torch.no_grad():
        d_new = {k: v - 0.1 * dict(d_ref.named_parameters())[k].grad
                 for k, v in d0.items()}

    log_vars = model.train_step(data, ow)
    assert [c[0] for c in model.calls] == ['g', 'd']
    assert model.calls[0][1] == [False, False]  # d frozen in g's step
    assert model.calls[1][1] == [True, True]  # and trainable again after
    for k, v in model.g.state_dict().items():
        assert torch.allclose(v, g_new[k], atol=1e-6), k
    for k, v in model.d.state_dict().items():
        assert torch.allclose(v, d_new[k], atol=1e-6), k
    # 'loss' is the first step's total; every step's terms are logged
    assert set(log_vars) == {'loss', 'g.loss_adv', 'd.loss_d'}
    assert log_vars['loss'].item() == pytest.approx(
        log_vars['g.loss_adv'].item())
    assert all(p.grad is None or not p.grad.any()
               for p in model.parameters())  # update_params zeroed them


def test_missing_optimiser_is_named():
    model = ToyGAN()
    ow = toy_optim(model)
    with pytest.raises(TypeError, match=r"ToyGAN trains with 2 optimisers: "
                       r"optim_wrapper needs the entries 'g', 'd' .*got "
                       r"\['g'\]"):
        model.train_step({'inputs': torch.randn(2, 2)},
                         OptimWrapperDict(g=ow['g']))
    with pytest.raises(TypeError, match='got OptimWrapper'):
        model.train_step({'inputs': torch.randn(2, 2)}, ow['g'])


# --------------------------------------------------------------------- #
# forward helpers
# --------------------------------------------------------------------- #
def test_output_heads_names_follow_mmseg_loss_prefixes():
    single = MODELS.build(multilevel_segmentor())
    assert list(output_heads(single)) == ['decode', 'aux']
    cfg = multilevel_segmentor()
    cfg['auxiliary_head'] = [cfg['auxiliary_head'], cfg['auxiliary_head']]
    multi = MODELS.build(cfg)
    assert list(output_heads(multi)) == ['decode', 'aux_0', 'aux_1']
    plain = MODELS.build(tiny_segmentor())
    assert list(output_heads(plain)) == ['decode']


@pytest.mark.parametrize('concat', [True, False])
def test_forward_parts_gives_every_level_and_the_mmseg_losses(concat):
    torch.manual_seed(0)
    model = MODELS.build(multilevel_segmentor())
    model.eval()  # deterministic BatchNorm: parts may run together or apart
    xs, xt = torch.randn(2, 3, SIZE, SIZE), torch.randn(3, 3, SIZE, SIZE)
    s = samples(2)
    out = forward_parts(model, [xs, xt], s, levels='all', with_feats=True,
                        with_decoder_feats=True, concat=concat)
    # the losses are mmseg's own (decode + aux with its 0.1 weight)
    ref = model.loss(xs, s)
    assert set(out.losses) == set(ref)
    for k in ref:
        assert torch.allclose(out.losses[k], ref[k], atol=1e-5), k
    # logits of both levels at input resolution, one per part
    for x, main, aux in zip((xs, xt), out.logits['decode'],
                            out.logits['aux']):
        assert main.shape == aux.shape == (len(x), 3, SIZE, SIZE)
        assert torch.allclose(main, full_res_logits(model, x), atol=1e-5)
        feats = model.extract_feat(x)
        assert torch.allclose(aux, model.auxiliary_head.forward(feats),
                              atol=1e-5)
    # backbone features and the decode head's features (for DeepLabv2 the
    # stage it classifies)
    assert len(out.feats) == 2 and len(out.feats[1]) == 2
    assert torch.allclose(out.feats[1][1], model.extract_feat(xt)[1],
                          atol=1e-5)
    assert torch.allclose(out.decoder_feats[1], out.feats[1][1])
    # no labels: no losses
    out = forward_parts(model, [xt], levels=('aux', ))
    assert out.losses == {} and list(out.logits) == ['aux']
    with pytest.raises(ValueError, match=r"unknown output level\(s\) "
                       r"\['aux_3'\]"):
        forward_parts(model, [xt], levels=('aux_3', ))


def test_forward_parts_concat_normalises_over_all_parts_in_train_mode():
    torch.manual_seed(0)
    model = MODELS.build(tiny_segmentor())
    model.train()
    xs, xt = torch.randn(2, 3, SIZE, SIZE), torch.randn(2, 3, SIZE, SIZE) + 3
    joint = forward_parts(model, [xs, xt], concat=True).logits['decode']
    apart = forward_parts(model, [xs, xt], concat=False).logits['decode']
    together = full_res_logits(model, torch.cat((xs, xt)))
    assert torch.allclose(torch.cat(joint), together, atol=1e-5)
    assert torch.allclose(apart[1], full_res_logits(model, xt), atol=1e-5)
    assert not torch.allclose(joint[1], apart[1], atol=1e-3)


def test_joint_forward_is_forward_parts_on_the_decode_level():
    torch.manual_seed(0)
    model = MODELS.build(tiny_segmentor())
    model.train()
    xs, xu = torch.randn(2, 3, SIZE, SIZE), torch.randn(2, 3, SIZE, SIZE)
    s = samples(2)
    torch.manual_seed(1)
    losses, (lu, ) = joint_forward(model, xs, s, [xu])
    torch.manual_seed(1)
    ref = forward_parts(model, [xs, xu], s)
    assert torch.equal(lu, ref.logits['decode'][1])
    assert torch.equal(losses['decode.loss_ce'], ref.losses['decode.loss_ce'])


def test_decoder_features_need_a_split_head():
    with pytest.raises(TypeError, match='does not expose its decoder'):
        decoder_features(nn.Identity(), [torch.zeros(1)])


# --------------------------------------------------------------------- #
# EnsembleSegmentor
# --------------------------------------------------------------------- #
def _save(model, path, prefix=None):
    state = model.state_dict()
    if prefix:
        state = {f'{prefix}.{k}': v for k, v in state.items()}
        state['other.weight'] = torch.zeros(1)
    torch.save({'state_dict': state, 'meta': {}}, path)


def test_ensemble_is_the_weighted_mean_of_softmax(tmp_path):
    torch.manual_seed(0)
    cfg = tiny_segmentor()
    m1, m2 = MODELS.build(cfg), MODELS.build(cfg)
    _save(m1, tmp_path / 'a.pth')
    _save(m2, tmp_path / 'b.pth', prefix='teacher')  # a semi checkpoint
    ens = MODELS.build(
        dict(type='EnsembleSegmentor',
             data_preprocessor=dict(type='SegDataPreProcessor'),
             members=[
                 dict(model=cfg, checkpoint=str(tmp_path / 'a.pth'),
                      weight=3),
                 dict(model=cfg, checkpoint=str(tmp_path / 'b.pth'),
                      prefix='teacher', weight=1)
             ]))
    assert ens.weights == [0.75, 0.25]
    m1.eval(), m2.eval(), ens.eval()
    x = torch.randn(2, 3, SIZE, SIZE)
    with torch.no_grad():
        p1 = full_res_logits(m1, x).softmax(1)
        p2 = full_res_logits(m2, x).softmax(1)
        mean = 0.75 * p1 + 0.25 * p2
        assert torch.allclose(ens._forward(x), mean, atol=1e-6)
        pred = ens.predict(x, samples(2))
    assert torch.allclose(pred[0].seg_logits.data, mean[0], atol=1e-6)
    assert torch.equal(pred[0].pred_sem_seg.data[0], mean[0].argmax(0))
    with pytest.raises(RuntimeError, match='for evaluation'):
        ens.loss(x, samples(2))
    # ADVENT's evaluation averages logits instead
    ens = MODELS.build(
        dict(type='EnsembleSegmentor', combine='logits', members=[
            dict(model=cfg, checkpoint=str(tmp_path / 'a.pth')),
            dict(model=cfg, checkpoint=str(tmp_path / 'b.pth'),
                 prefix='teacher')
        ]))
    ens.eval()
    with torch.no_grad():
        mean = 0.5 * (full_res_logits(m1, x) + full_res_logits(m2, x))
        assert torch.allclose(ens._forward(x), mean, atol=1e-6)
    with pytest.raises(ValueError, match="combine must be one of"):
        MODELS.build(dict(type='EnsembleSegmentor', combine='vote',
                          members=[dict(model=cfg)]))


def test_ensemble_refuses_bad_members(tmp_path):
    cfg = tiny_segmentor()
    m = MODELS.build(cfg)
    _save(m, tmp_path / 'semi.pth', prefix='student')

    def build(**member):
        return MODELS.build(
            dict(type='EnsembleSegmentor', members=[dict(model=cfg,
                                                         **member)]))

    with pytest.raises(FileNotFoundError,
                       match=r'members\[0\].checkpoint .*nope.pth'):
        build(checkpoint=str(tmp_path / 'nope.pth'))
    with pytest.raises(ValueError, match=r"holds the sub-models \['other', "
                       r"'student'\]: say which one to load with prefix="):
        build(checkpoint=str(tmp_path / 'semi.pth'))
    with pytest.raises(KeyError, match="no weights under prefix 'teacher'"):
        build(checkpoint=str(tmp_path / 'semi.pth'), prefix='teacher')
    other = tiny_segmentor(num_classes=5)
    torch.save({'state_dict': MODELS.build(other).state_dict()},
               tmp_path / 'five.pth')
    with pytest.raises(ValueError, match='does not fit members'):
        MODELS.build(dict(type='EnsembleSegmentor', members=[
            dict(model=cfg, checkpoint=str(tmp_path / 'five.pth'))]))
    with pytest.raises(ValueError, match=r'members\[0\] needs model='):
        MODELS.build(dict(type='EnsembleSegmentor', members=[dict(w=1)]))
    with pytest.raises(ValueError, match='weights must be >= 0'):
        build(weight=-1)
    with pytest.raises(ValueError, match='different numbers of classes'):
        MODELS.build(dict(type='EnsembleSegmentor', members=[
            dict(model=cfg), dict(model=other)]))
