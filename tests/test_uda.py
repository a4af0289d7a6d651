"""Domain adaptation segmentors (AdaptSegNet, AdvEnt, feature-level
alignment, MinEnt): what each step trains, the domain labels, the losses
against hand-computed values, config errors, and the synthetic configs
through the runner (train, evaluate on the target, resume exactly, two
processes)."""
import copy
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from helpers import cfg_path, load_cfg, synthetic_overrides, train
from semiseg_mm.engine.optimizers import MultiOptimWrapperConstructor
from semiseg_mm.models.losses.uda import entropy_map, minent_loss
from semiseg_mm.models.utils import full_res_logits
from semiseg_mm.registry import MODELS
from test_shared_base import multilevel_segmentor

SIZE = 32  # five stride-2 discriminator convs need >= 32 px
PRE = dict(
    type='mmdet.MultiBranchDataPreprocessor',
    data_preprocessor=dict(type='SegDataPreProcessor', size=(SIZE, SIZE)))
SMALL_D = dict(type='FCDiscriminator', base_channels=4)
ADVSEG_CFG = cfg_path('adaptsegnet/dilatedconvnet_synthetic-uda_multi-level.py')
ADVENT_CFG = cfg_path('advent/dilatedconvnet_synthetic-uda_advent.py')
MINENT_CFG = cfg_path('advent/dilatedconvnet_synthetic-uda_minent.py')
FEAT_CFG = cfg_path(
    'adaptsegnet/dilatedconvnet_synthetic-uda_feature-level.py')
SOURCE_ONLY_CFG = cfg_path(
    'supervised/dilatedconvnet_synthetic-uda_source-only.py')


def build(kind='AdaptSegNet', segmentor=None, size=SIZE, **uda_cfg):
    pre = dict(PRE, data_preprocessor=dict(PRE['data_preprocessor'],
                                           size=(size, size)))
    cfg = dict(type=kind, segmentor=segmentor or multilevel_segmentor(),
               data_preprocessor=pre, uda_cfg=uda_cfg)
    if kind != 'MinEnt':
        cfg['discriminator'] = SMALL_D
    return MODELS.build(cfg)


def optim(model, lr=0.01):
    cfg = dict(segmentor=dict(modules='segmentor',
                              optimizer=dict(type='SGD', lr=lr,
                                             momentum=0.9)))
    if hasattr(model, 'discriminators'):
        cfg['discriminator'] = dict(
            modules='discriminators',
            optimizer=dict(type='Adam', lr=1e-3, betas=(0.9, 0.99)))
    return MultiOptimWrapperConstructor(cfg)(model)


def raw_batch(n_s=2, n_t=2, seed=0, size=SIZE):
    g = torch.Generator().manual_seed(seed)
    inputs, samples = {'source': [], 'target': []}, {'source': [],
                                                     'target': []}
    for i in range(n_s + n_t):
        branch = 'source' if i < n_s else 'target'
        s = SegDataSample()
        s.set_metainfo(dict(img_shape=(size, size), ori_shape=(size, size)))
        if branch == 'source':
            s.gt_sem_seg = PixelData(
                data=torch.randint(0, 3, (1, size, size), generator=g))
        inputs[branch].append(torch.rand(3, size, size, generator=g) * 255)
        samples[branch].append(s)
    return dict(inputs=inputs, data_samples=samples)


def preprocessed(model, seed=0, size=SIZE):
    data = model.data_preprocessor(raw_batch(seed=seed, size=size),
                                   training=True)
    return data['inputs'], data['data_samples']


def params(module):
    return {k: v.detach().clone() for k, v in module.named_parameters()}


def same(module, before):
    return all(torch.equal(p, before[k]) for k, p in module.named_parameters())


# --------------------------------------------------------------------- #
# what each step trains
# --------------------------------------------------------------------- #
@pytest.mark.parametrize('kind', ['AdaptSegNet', 'AdvEnt'])
def test_segmenter_step_leaves_discriminators_and_vice_versa(kind):
    torch.manual_seed(0)
    model = build(kind)
    model.train()
    ow = optim(model)
    steps = model.optim_steps()
    assert [s.optimizer for s in steps] == ['segmentor', 'discriminator']
    seg0, d0 = params(model.segmentor), params(model.discriminators)
    batch = model.data_preprocessor(raw_batch(), True)
    carry = {}
    logs = model.run_optim_step(steps[0], batch, carry, ow)
    assert not same(model.segmentor, seg0)
    assert same(model.discriminators, d0)  # frozen: no gradient, no step
    assert all(p.grad is None for p in model.discriminators.parameters())
    assert all(p.requires_grad for p in model.discriminators.parameters())
    assert {'src.decode.loss_ce', 'src.aux.loss_ce', 'adv.loss_adv_decode',
            'adv.loss_adv_aux'} <= set(logs)
    seg1 = params(model.segmentor)
    logs = model.run_optim_step(steps[1], batch, carry, ow, keep_total=False)
    assert same(model.segmentor, seg1)
    assert not same(model.discriminators, d0)
    assert set(logs) == {'disc.loss_d_decode', 'disc.loss_d_aux'}


def test_domain_labels_and_adversarial_values_by_hand():
    """The segmenter's term asks D to call target maps source (label 0);
    D learns source -> 0 and target -> 1, each half weighted."""
    torch.manual_seed(0)
    model = build('AdaptSegNet')
    model.eval()  # fixed BatchNorm: the references below see the same net
    inputs, samples = preprocessed(model)
    carry = {}
    losses = model.segmenter_losses(
        dict(inputs=inputs, data_samples=samples), carry)
    seg = model.segmentor
    with torch.no_grad():
        p_t = full_res_logits(seg, inputs['target']).softmax(1)
        p_s = full_res_logits(seg, inputs['source']).softmax(1)
        d = model.discriminators['decode']
        out_t, out_s = d(p_t), d(p_s)
    expected = 0.001 * F.binary_cross_entropy_with_logits(
        out_t, torch.zeros_like(out_t))
    assert losses['adv.loss_adv_decode'].item() == pytest.approx(
        expected.item(), rel=1e-5)
    d_losses = model.discriminator_losses(None, carry)
    expected = 0.5 * (
        F.binary_cross_entropy_with_logits(out_s, torch.zeros_like(out_s)) +
        F.binary_cross_entropy_with_logits(out_t, torch.ones_like(out_t)))
    assert d_losses['disc.loss_d_decode'].item() == pytest.approx(
        expected.item(), rel=1e-5)
    # the auxiliary level has its own discriminator and weight
    assert losses['adv.loss_adv_aux'] > 0
    assert model.adv_weights == dict(decode=0.001, aux=0.0002)


def test_advent_discriminators_see_entropy_maps_and_lsgan_is_mse():
    torch.manual_seed(0)
    model = build('AdvEnt', gan_type='lsgan', adv_weights=dict(decode=1.0))
    assert list(model.discriminators) == ['decode']  # single level
    model.eval()
    inputs, samples = preprocessed(model)
    seen = []
    d = model.discriminators['decode']
    handle = d.register_forward_pre_hook(lambda m, a: seen.append(a[0]))
    losses = model.segmenter_losses(
        dict(inputs=inputs, data_samples=samples), {})
    handle.remove()
    with torch.no_grad():
        p_t = full_res_logits(model.segmentor, inputs['target']).softmax(1)
        ent = entropy_map(p_t)
        out = d(ent)
    assert torch.allclose(seen[0], ent, atol=1e-6)
    assert losses['adv.loss_adv_decode'].item() == pytest.approx(
        (out**2).mean().item(), rel=1e-5)  # (D - 0)^2


def test_feature_level_discriminator_sees_the_head_features():
    torch.manual_seed(0)
    # the features are at 1/2 resolution: 64 px inputs give the
    # discriminator the 32 px it needs
    model = build('FeatureAdversarial', size=64)
    # DeepLabv2 heads classify their input stage: 8 channels here
    assert model.discriminators['decode'].in_channels == 8
    model.eval()
    inputs, samples = preprocessed(model, size=64)
    seen = []
    model.discriminators['decode'].register_forward_pre_hook(
        lambda m, a: seen.append(a[0]))
    model.segmenter_losses(dict(inputs=inputs, data_samples=samples), {})
    feats = model.segmentor.extract_feat(inputs['target'])[1]
    assert torch.allclose(seen[0], feats, atol=1e-6)
    with pytest.raises(ValueError, match='must be dict\\(decode=...\\)'):
        build('FeatureAdversarial', adv_weights=dict(aux=1.0))


def test_minent_by_hand_and_one_optimiser():
    torch.manual_seed(0)
    model = build('MinEnt')
    assert model.ent_weights == dict(decode=0.001, aux=0.0002)
    model.eval()
    inputs, samples = preprocessed(model)
    losses = model.loss(inputs, samples)
    seg = model.segmentor
    with torch.no_grad():
        p = full_res_logits(seg, inputs['target']).softmax(1)
        feats = seg.extract_feat(inputs['target'])
        aux = F.interpolate(seg.auxiliary_head.forward(feats), size=SIZE,
                            mode='bilinear').softmax(1)
    assert losses['ent.loss_ent_decode'].item() == pytest.approx(
        0.001 * minent_loss(p).item(), rel=1e-5)
    assert losses['ent.loss_ent_aux'].item() == pytest.approx(
        0.0002 * minent_loss(aux).item(), rel=1e-5)
    # trained by the ordinary single-optimiser train_step
    from mmengine.optim import OptimWrapper
    model.train()
    ow = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    logs = model.train_step(raw_batch(), ow)
    assert {'loss', 'src.decode.loss_ce', 'ent.loss_ent_decode'} <= set(logs)


def test_class_ratio_prior_option(tmp_path):
    import json
    stats = tmp_path / 'stats.json'
    stats.write_text(json.dumps(dict(ratio=[0.2, 0.3, 0.5])))
    torch.manual_seed(0)
    model = build('MinEnt',
                  class_prior=dict(file=str(stats), mu=0.5, weight=2.0))
    model.eval()
    inputs, samples = preprocessed(model)
    losses = model.loss(inputs, samples)
    from semiseg_mm.models.losses.uda import class_ratio_prior_loss
    with torch.no_grad():
        p = full_res_logits(model.segmentor, inputs['target']).softmax(1)
    expected = 2.0 * class_ratio_prior_loss(
        p, torch.tensor([0.2, 0.3, 0.5]), 0.5)
    assert losses['prior.loss_cp'].item() == pytest.approx(expected.item(),
                                                           abs=1e-7)
    with pytest.raises(FileNotFoundError,
                       match='uda_cfg.class_prior.file: source class '
                       'statistics'):
        build('AdvEnt', class_prior=dict(file=str(tmp_path / 'none.json')))
    stats.write_text(json.dumps(dict(ratio=[0.5, 0.5])))
    with pytest.raises(ValueError, match='holds 2 classes, the segmentor '
                       'predicts 3'):
        build('AdvEnt', class_prior=dict(file=str(stats)))


def test_config_errors_name_the_key():
    with pytest.raises(ValueError, match=r"uda_cfg.adv_weights names the "
                       r"level\(s\) \['aux2'\], but the segmentor has "
                       r"\('decode', 'aux'\)"):
        build(adv_weights=dict(aux2=0.1))
    from helpers import tiny_segmentor
    with pytest.raises(ValueError, match="an 'aux' level needs an "
                       'auxiliary_head'):
        build(segmentor=tiny_segmentor(), adv_weights=dict(aux=0.1))
    # a single-level segmentor gets one discriminator by default
    single = build(segmentor=tiny_segmentor())
    assert list(single.discriminators) == ['decode']
    with pytest.raises(ValueError, match="gan_type must be one of"):
        build(gan_type='wgan')
    with pytest.raises(ValueError, match=r"unknown uda_cfg key\(s\) "
                       r"\['lambda_adv'\]"):
        build(lambda_adv=0.001)
    with pytest.raises(ValueError, match='in_channels=5, but the .decode. '
                       'discriminator judges 3-channel maps'):
        MODELS.build(dict(type='AdaptSegNet',
                          segmentor=multilevel_segmentor(),
                          discriminator=dict(SMALL_D, in_channels=5)))
    model = build()
    with pytest.raises(TypeError, match="needs the entries 'segmentor', "
                       "'discriminator'"):
        model.train_step(raw_batch(), optim(model)['segmentor'])
    with pytest.raises(ValueError, match="no 'target' images .*UDADataset"):
        data = raw_batch()
        del data['inputs']['target'], data['data_samples']['target']
        model.train_step(data, optim(model))


def test_prediction_and_checkpoint_loading():
    torch.manual_seed(0)
    model = build()
    assert model.predict_branches == ('segmentor', )
    model.eval()
    x = torch.randn(1, 3, SIZE, SIZE)
    with torch.no_grad():
        out = model.predict(x, None)
        ref = model.segmentor.predict(x, None)
    assert torch.equal(out[0].pred_sem_seg.data, ref[0].pred_sem_seg.data)
    # a plain mmseg checkpoint (source-only, ImageNet init) loads into the
    # segmentor; the discriminators keep their weights
    plain = MODELS.build(multilevel_segmentor()).state_dict()
    missing, unexpected = model.load_state_dict(plain, strict=False)
    assert not unexpected and all(k.startswith('discriminators.')
                                  for k in missing)
    assert torch.equal(model.segmentor.decode_head.aspp[0].weight,
                       plain['decode_head.aspp.0.weight'])


# --------------------------------------------------------------------- #
# the synthetic configs through the runner
# --------------------------------------------------------------------- #
@pytest.fixture(scope='session')
def uda_root(tmp_path_factory):
    from semiseg_mm.datasets.synthetic import make_domain_pair
    root = str(tmp_path_factory.mktemp('data') / 'synthetic_uda')
    make_domain_pair(root, num_source=8, num_target=8, num_target_val=4,
                     num_target_test=4, progress=False)
    return root


def uda_overrides(root, work, iters, val=True, n=2):
    opts = synthetic_overrides(root, work, iters, val=val)
    del opts['train_dataloader.dataset.data_root']
    opts.update({
        'train_dataloader.dataset.source.data_root': root + '/source',
        'train_dataloader.dataset.target.data_root': root + '/target',
        'val_dataloader.dataset.data_root': root + '/target',
        'test_dataloader.dataset.data_root': root + '/target',
        'train_dataloader.batch_size': 2 * n,
        'train_dataloader.sampler.batch_size': 2 * n,
        'train_dataloader.sampler.source_ratio': [n, n],
    })
    return opts


def uda_cfg(path, root, work, iters, val=True):
    return load_cfg(path, uda_overrides(root, work, iters, val=val))


@pytest.mark.parametrize('path', [ADVSEG_CFG, ADVENT_CFG, MINENT_CFG,
                                  FEAT_CFG])
def test_synthetic_configs_train_and_evaluate_on_the_target(
        path, uda_root, tmp_path):
    cfg = uda_cfg(path, uda_root, str(tmp_path / 'run'), 2)
    cfg.custom_hooks = [dict(type='SemiVisualizationHook', interval=2)]
    runner = train(cfg)
    metrics = runner.val_loop.run()
    assert 0 <= metrics['mIoU'] <= 100
    pictures = list((tmp_path / 'run').rglob('semi_2.png'))
    assert pictures, 'the target entropy / prediction picture'


def test_source_only_baseline_trains(uda_root, tmp_path):
    opts = synthetic_overrides(uda_root + '/source', str(tmp_path / 'run'), 2)
    opts['val_dataloader.dataset.data_root'] = uda_root + '/target'
    opts['test_dataloader.dataset.data_root'] = uda_root + '/target'
    runner = train(load_cfg(SOURCE_ONLY_CFG, opts))
    assert runner.iter == 2


def test_resume_equals_uninterrupted(uda_root, tmp_path):
    """The segmentor, both discriminators and both optimisers (and their
    schedulers) after N iterations + resume to 2N equal a 2N run."""
    n = 2

    def run(work, iters, resume=False):
        cfg = uda_cfg(ADVENT_CFG, uda_root, work, iters, val=False)
        cfg.default_hooks.checkpoint.interval = n
        return train(cfg, resume=resume)

    ref = run(str(tmp_path / 'full'), 2 * n)
    ref_model = copy.deepcopy(ref.model.state_dict())
    ref_optim = ref.optim_wrapper.state_dict()
    half = str(tmp_path / 'half')
    run(half, n)
    resumed = run(half, 2 * n, resume=True)
    got = resumed.model.state_dict()
    assert {k.split('.')[0] for k in got} == {'segmentor', 'discriminators'}
    for k in ref_model:
        assert torch.equal(got[k], ref_model[k]), k
    got_optim = resumed.optim_wrapper.state_dict()
    assert set(got_optim) == {'segmentor', 'discriminator'}
    for name in got_optim:
        a, b = got_optim[name]['state'], ref_optim[name]['state']
        assert a.keys() == b.keys() and a
        for idx in a:
            for key, value in a[idx].items():
                assert torch.equal(value, b[idx][key]), (name, idx, key)
    lrs = [resumed.optim_wrapper[n].get_lr()['lr'][0]
           for n in ('segmentor', 'discriminator')]
    assert lrs == [ref.optim_wrapper[n].get_lr()['lr'][0]
                   for n in ('segmentor', 'discriminator')]
    short = run(str(tmp_path / 'short'), n).model.state_dict()
    assert any(not torch.equal(short[k], ref_model[k]) for k in ref_model)


@pytest.mark.parametrize('path', [
    ADVENT_CFG,
    cfg_path('dacs/dilatedconvnet_synthetic-uda_dacs.py')
])
def test_dist_train_two_processes(path, uda_root, tmp_path):
    """tools/dist_train.sh ... 2 on CPU: the segmentor and the
    discriminators (each in its own DDP) stay identical across ranks; DACS
    (one DDP around segmentor and teacher) keeps both identical too, each
    rank mixing its own images."""
    from test_gct import RANK_DUMP, dist_train
    work = tmp_path / 'dist'
    cfg = uda_cfg(path, uda_root, str(work), 2, val=False)
    cfg.log_level = 'INFO'
    cfg.custom_imports = dict(imports=['uda_rank_dump'],
                              allow_failed_imports=False)
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
        dict(type='DumpRankParams')
    ]
    (tmp_path / 'uda_rank_dump.py').write_text(RANK_DUMP)
    cfg_file = str(tmp_path / 'cfg.py')
    cfg.dump(cfg_file)
    dist_train(cfg_file, tmp_path)
    p0 = torch.load(work / 'params_rank0.pth')
    p1 = torch.load(work / 'params_rank1.pth')
    assert any(k.startswith('discriminators.' if path == ADVENT_CFG else
                            'teacher.') for k in p0)
    for k in p0:
        assert torch.equal(p0[k], p1[k]), k
    ckpt = torch.load(work / 'iter_2.pth', map_location='cpu')
    assert not any('.module.' in k for k in ckpt['state_dict'])


def test_ensemble_config_evaluates_two_trained_models(uda_root, tmp_path):
    import subprocess
    import sys
    from helpers import REPO
    paths = {}
    for name, path in (('advent', ADVENT_CFG), ('minent', MINENT_CFG)):
        work = tmp_path / name
        train(uda_cfg(path, uda_root, str(work), 1, val=False))
        paths[name] = str(work / 'iter_1.pth')
    opts = [
        f'model.members.0.checkpoint={paths["advent"]}',
        f'model.members.1.checkpoint={paths["minent"]}',
        f'test_dataloader.dataset.data_root={uda_root}/target',
        f'val_dataloader.dataset.data_root={uda_root}/target',
    ]
    r = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools/test.py'),
         cfg_path('advent/dilatedconvnet_synthetic-uda_advent-minent-'
                  'ensemble.py'), '--work-dir', str(tmp_path / 'test'),
         '--cfg-options', *opts],
        capture_output=True, text=True, cwd=str(tmp_path), timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'mIoU' in r.stdout + r.stderr
    r = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools/test.py'), ADVENT_CFG],
        capture_output=True, text=True, cwd=str(tmp_path), timeout=600)
    assert r.returncode != 0 and 'needs a CHECKPOINT' in r.stderr
    # the render tool: target predictions and entropy before (here: the
    # MinEnt run's segmentor) and after adaptation
    sys.path.insert(0, osp.join(REPO, 'tools'))
    import visualize_semi
    cfg_file = tmp_path / 'advent_cfg.py'
    uda_cfg(ADVENT_CFG, uda_root, str(tmp_path / 'vis_work'), 1).dump(
        str(cfg_file))
    visualize_semi.main([str(cfg_file), paths['advent'], '--before',
                         paths['minent'], '--out', str(tmp_path / 'vis')])
    assert (tmp_path / 'vis' / 'semi_batch0.png').is_file()


# --------------------------------------------------------------------- #
# the domain-adaptation benchmark tool
# --------------------------------------------------------------------- #
def test_benchmark_rows_build_and_pair_by_seed(tmp_path):
    from semiseg_mm.benchmark import domain_adaptation as da
    from semiseg_mm.benchmark import label_efficiency as le
    from semiseg_mm.utils.config import config_root
    assert da.default_keys() == ['source_only', 'adaptsegnet', 'minent',
                                 'advent', 'dacs', 'target_supervised']
    for e in da.ENTRIES.values():
        cfg = le.make_run_config(e, 1, config_root(), 10, str(tmp_path))
        assert cfg.randomness.seed == 1 and cfg.train_cfg.max_iters == 10
    # gap closed pairs the seeds: (m_s - lo_s) / (hi_s - lo_s), averaged
    rows = [
        le.Row(da.ENTRIES['source_only'], [10.0, 20.0], 1),
        le.Row(da.ENTRIES['advent'], [15.0, 21.0], 1),
        le.Row(da.ENTRIES['target_supervised'], [20.0, 40.0], 1)
    ]
    assert da.gap_rows(rows)['advent'] == pytest.approx((50 + 5) / 2)
    assert da.beats_source(rows) == {'advent': True}
    rows[1].mious[1] = 19.0
    assert da.beats_source(rows) == {'advent': False}


def test_benchmark_tool_end_to_end(uda_root, tmp_path):
    import subprocess
    import sys
    from helpers import REPO
    cmd = [
        sys.executable, osp.join(REPO, 'tools/domain_adaptation.py'),
        '--methods', 'source_only', 'advent_minent', 'target_supervised',
        '--max-iters', '2', '--seeds', '0', '--data-root', uda_root,
        '--work-dir', str(tmp_path), '--jobs', '2'
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    for name in ('Source only', 'AdvEnt + MinEnt (ensemble)',
                 'Target supervised (upper bound)'):
        assert f'| {name} |' in r.stdout
    # the ensemble's members were trained for it
    assert (tmp_path / 'advent_seed0' / 'result.json').is_file()
    assert (tmp_path / 'minent_seed0' / 'result.json').is_file()
    assert 'gap closed (paired by seed)' in r.stdout


@pytest.mark.parametrize('path', [
    ADVENT_CFG, MINENT_CFG,
    cfg_path('dacs/dilatedconvnet_synthetic-uda_dacs.py')
])
def test_speed_tool_has_a_reference_for_uda(path, uda_root, tmp_path):
    """tools/benchmark.py compares a UDA iteration with the bare passes of
    its networks (segmentor over both domains, discriminators on both)."""
    from helpers import measure_speed
    from semiseg_mm.benchmark.speed import REFERENCES
    assert {'AdaptSegNet', 'AdvEnt', 'FeatureAdversarial', 'MinEnt',
            'DACS'} <= set(REFERENCES)
    res = measure_speed(path, uda_root, 'synthetic_uda', tmp_path, iters=1,
                        warmup=1)
    assert res['overhead'] > 0 and res['iter_s'] > 0
