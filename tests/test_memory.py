"""Memory: activation checkpointing (``with_cp``) of the CPU backbone and of
ELN's network, and the speed tool's tensor-memory measure on CPU."""
import copy

import pytest
import torch

import semiseg_mm  # noqa: F401
from semiseg_mm.benchmark.speed import allocation_peak_bytes, held_bytes
from semiseg_mm.models.utils.checkpoint import (checkpointed,
                                                frozen_running_stats)
from semiseg_mm.registry import MODELS

CPU_ELN = dict(
    type='ELNNetwork',
    num_classes=4,
    backbone=dict(type='DilatedConvNet', stem_channels=4, channels=8,
                  dilations=(1, 2), stride=2),
    decode_head=dict(type='FCNHead', in_channels=[4, 8], in_index=[0, 1],
                     input_transform='resize_concat', channels=8,
                     num_convs=1, concat_input=False, dropout_ratio=0.0,
                     norm_cfg=dict(type='BN', requires_grad=True),
                     align_corners=False))


def _train_once(net, *inputs):
    """One forward + backward in training mode: output, gradients and
    running statistics."""
    net.train()
    out = net(*inputs)
    out = out[-1] if isinstance(out, tuple) else out
    (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
    grads = {n: p.grad.clone() for n, p in net.named_parameters()}
    stats = {n: b.clone() for n, b in net.named_buffers()}
    return out.detach(), grads, stats


def _assert_same_training(grads_c, grads_p, stats_c, stats_p):
    """Checkpointed (c) and plain (p) runs: same gradients, same buffers."""
    assert grads_c.keys() == grads_p.keys()
    for name in grads_p:
        torch.testing.assert_close(grads_c[name], grads_p[name],
                                   msg=f'gradient of {name}')
    for name in stats_p:
        torch.testing.assert_close(stats_c[name], stats_p[name],
                                   msg=f'buffer {name}')


@pytest.mark.parametrize('kind', ['backbone', 'eln'])
def test_with_cp_same_outputs_gradients_and_running_stats(kind):
    torch.manual_seed(0)
    if kind == 'backbone':
        plain = MODELS.build(dict(type='DilatedConvNet', stem_channels=4,
                                  channels=8, dilations=(1, 2, 1)))
        inputs = (torch.randn(3, 3, 16, 16), )
    else:
        plain = MODELS.build(CPU_ELN)
        inputs = (torch.randn(3, 3, 16, 16), torch.randn(3, 4, 16, 16))
    cp = copy.deepcopy(plain)
    cp.with_cp = True
    out_p, grads_p, stats_p = _train_once(plain, *inputs)
    out_c, grads_c, stats_c = _train_once(cp, *inputs)
    torch.testing.assert_close(out_c, out_p)
    # the re-run in the backward pass does not fold the batch into the
    # running statistics a second time
    _assert_same_training(grads_c, grads_p, stats_c, stats_p)
    assert any(n.endswith('num_batches_tracked') and int(v) == 1
               for n, v in stats_c.items())


def test_with_cp_keeps_fewer_activations():
    """What checkpointing is for: the backward graph of a with_cp ELN
    network holds less than the plain one's (counted as the tensors autograd
    saves)."""
    torch.manual_seed(0)
    plain = MODELS.build(CPU_ELN)
    cp = copy.deepcopy(plain)
    cp.with_cp = True
    inputs = (torch.randn(4, 3, 32, 32), torch.randn(4, 4, 32, 32))

    def saved_bytes(net):
        sizes = []

        def pack(t):
            sizes.append(t.numel() * t.element_size())
            return t

        net.train()
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            net(*inputs)
        return sum(sizes)

    assert saved_bytes(cp) < 0.3 * saved_bytes(plain)


PROJECTED = dict(
    type='ProjectedEncoderDecoder',
    backbone=dict(type='DilatedConvNet', stem_channels=4, channels=8,
                  dilations=(1, 2), stride=2),
    decode_head=dict(type='FCNHead', in_channels=[4, 8], in_index=[0, 1],
                     input_transform='resize_concat', channels=8,
                     num_convs=1, concat_input=False, dropout_ratio=0.0,
                     num_classes=3,
                     norm_cfg=dict(type='BN', requires_grad=True),
                     align_corners=False),
    projector=dict(type='ProjectionHead', channels=8, out_channels=4,
                   num_convs=2))


@pytest.mark.parametrize('with_decoder_feats', [False, True])
def test_decode_with_cp_same_losses_gradients_stats_fewer_saved(
        with_decoder_feats):
    """``ProjectedEncoderDecoder(decode_with_cp=True)``: the student passes
    of forward_parts give the same losses, logits, decoder features,
    gradients and running statistics, and autograd keeps less."""
    from mmseg.structures import SegDataSample
    from mmengine.structures import PixelData
    from semiseg_mm.models.utils.forward import forward_parts
    torch.manual_seed(0)
    plain = MODELS.build(PROJECTED)
    cp = copy.deepcopy(plain)
    cp.decode_with_cp = True
    x_l, x_u = torch.randn(2, 3, 16, 16), torch.randn(2, 3, 16, 16)
    samples = []
    for _ in range(2):
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=torch.randint(0, 3, (1, 16, 16)))
        s.set_metainfo(dict(img_shape=(16, 16), pad_shape=(16, 16)))
        samples.append(s)

    def run(net):
        net.train()
        sizes = []

        def pack(t):
            sizes.append(t.numel() * t.element_size())
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            out = forward_parts(net, [x_l, x_u], samples,
                                with_decoder_feats=with_decoder_feats)
        total = out.losses['decode.loss_ce'] + (
            out.logits['decode'][1] *
            torch.linspace(-1, 1, out.logits['decode'][1].numel()).view_as(
                out.logits['decode'][1])).sum()
        if with_decoder_feats:
            total = total + net.project(out.decoder_feats[1]).square().sum()
        total.backward()
        grads = {n: p.grad.clone() for n, p in net.named_parameters()
                 if p.grad is not None}
        stats = {n: b.clone() for n, b in net.decode_head.named_buffers()}
        return total.detach(), grads, stats, sum(sizes)

    loss_p, grads_p, stats_p, saved_p = run(plain)
    loss_c, grads_c, stats_c, saved_c = run(cp)
    torch.testing.assert_close(loss_c, loss_p)
    _assert_same_training(grads_c, grads_p, stats_c, stats_p)
    assert saved_c < saved_p
    # inference is mmseg's, untouched
    cp.eval()
    plain.eval()
    with torch.no_grad():
        torch.testing.assert_close(
            forward_parts(cp, [x_u]).logits['decode'][0],
            forward_parts(plain, [x_u]).logits['decode'][0])


def test_frozen_running_stats_restores_momentum_and_counter():
    bn = torch.nn.BatchNorm2d(2, momentum=0.3)
    bn.train()
    mean = bn.running_mean.clone()
    with frozen_running_stats(bn):
        assert bn.momentum == 0.0
        bn(torch.randn(4, 2, 3, 3) + 5)
    assert bn.momentum == 0.3
    assert int(bn.num_batches_tracked) == 0
    torch.testing.assert_close(bn.running_mean, mean)


def test_checkpointed_runs_again_in_backward_only_with_a_graph():
    layer = torch.nn.Conv2d(1, 1, 3)
    calls = []
    layer.register_forward_pre_hook(lambda *args: calls.append(1))
    x = torch.randn(1, 1, 5, 5)
    with torch.no_grad():
        assert checkpointed(layer, layer, x).grad_fn is None
    assert len(calls) == 1
    calls.clear()
    checkpointed(layer, layer, x).sum().backward()
    assert len(calls) == 2  # forward, and again in the backward pass
    assert layer.weight.grad is not None


def test_allocation_peak_counts_tensors_alive_together():
    """1 MiB and 2 MiB alive at once, then 0.5 MiB: the peak is 3 MiB,
    exactly."""

    def step():
        a = torch.empty(2**18)  # 1 MiB of float32
        b = torch.empty(2**19)  # 2 MiB
        del a, b
        c = torch.empty(2**17)  # 0.5 MiB
        del c

    assert allocation_peak_bytes(step) == 3 * 2**20


def test_held_bytes_counts_gradients_and_optimiser_state():
    from mmengine.optim import OptimWrapper, OptimWrapperDict
    a, b = torch.nn.Linear(4, 8), torch.nn.Linear(8, 2)  # 40 and 18 floats
    opt_a = OptimWrapper(torch.optim.SGD(a.parameters(), lr=0.1,
                                         momentum=0.9))
    opt_b = OptimWrapper(torch.optim.Adam(b.parameters(), lr=0.1))
    model = torch.nn.Sequential(a, b)
    model(torch.randn(3, 4)).sum().backward()
    both = OptimWrapperDict(a=opt_a, b=opt_b)
    # gradients only: 58 floats
    assert held_bytes(model, both) == 58 * 4
    opt_a.step()
    opt_b.step()
    # + SGD's momentum (40) + Adam's two moments (2 x 18) and its step
    # counters (one float32 scalar per parameter tensor)
    assert held_bytes(model, both) == (58 + 40 + 36 + 2) * 4
