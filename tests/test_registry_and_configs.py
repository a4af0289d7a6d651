"""Registries reach every ecosystem component; configs load and build."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import semiseg_mm
from semiseg_mm.registry import DATASETS, HOOKS, MODELS, TRANSFORMS


@pytest.fixture(autouse=True)
def scope():
    init_default_scope('semiseg_mm')


def test_registries_are_children_of_mmseg():
    from mmseg.registry import MODELS as MMSEG_MODELS
    assert MODELS.parent is MMSEG_MODELS and MODELS.scope == 'semiseg_mm'


def test_build_ours_mmseg_mmdet_and_mmengine_components():
    assert type(MODELS.build(dict(type='DilatedConvNet'))).__name__ == \
        'DilatedConvNet'
    head = MODELS.build(
        dict(type='FCNHead', in_channels=8, channels=8, num_classes=3))
    assert type(head).__module__.startswith('mmseg')
    mb = TRANSFORMS.build(
        dict(
            type='mmdet.MultiBranch',
            branch_field=['sup'],
            sup=[dict(type='PackSegInputs')]))
    assert type(mb).__module__.startswith('mmdet')
    pre = MODELS.build(
        dict(
            type='mmdet.MultiBranchDataPreprocessor',
            data_preprocessor=dict(type='SegDataPreProcessor')))
    assert type(pre.data_preprocessor).__name__ == 'SegDataPreProcessor'
    assert HOOKS.get('CheckpointHook') is not None
    assert DATASETS.get('SyntheticShapesDataset') is not None
    assert DATASETS.get('CityscapesDataset') is not None  # mmseg's


# every method config (configs/<method>/*.py); the _base_ fragments are not
# complete configs and are exercised through the configs that inherit them
CONFIGS = sorted(
    p for p in glob.glob(
        osp.join(osp.dirname(osp.dirname(__file__)), 'configs', '*', '*.py'))
    if osp.basename(osp.dirname(p)) != '_base_')


def test_config_list_not_empty():
    assert any('supervised' in c for c in CONFIGS)


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(
    p, osp.dirname(osp.dirname(p))))
def test_every_config_parses_and_builds_its_model(path, tmp_path):
    cfg = Config.fromfile(path)
    if cfg.default_scope == 'semiseg_mm_det':  # detection configs
        from semiseg_mm.det.registry import MODELS as DET_MODELS
        init_default_scope('semiseg_mm_det')
        model = DET_MODELS.build(cfg.model)
        assert sum(p.numel() for p in model.parameters()) > 0
        return
    assert cfg.default_scope == 'semiseg_mm'
    if cfg.model.type == 'EnsembleSegmentor':
        # members load trained checkpoints; build them untrained here
        assert all(m.checkpoint for m in cfg.model.members)
        for m in cfg.model.members:
            m.checkpoint = None
    f = cfg.model.get('pseudo_label_filter') or {}
    if f.get('type') == 'ELNFilter' and f.get('checkpoint'):
        # a trained ELN network is loaded when built; build it untrained
        f.checkpoint = None
    if f.get('type') == 'FlawMapFilter':
        # it loads a GCT run's flaw detector when built: an untrained one
        import torch
        classes = cfg.model.segmentor.decode_head.num_classes
        fd = MODELS.build(dict(f.detector, in_channels=3 + classes))
        f.checkpoint = str(tmp_path / 'gct.pth')
        torch.save({'state_dict': {f'flaw_detector.{k}': v
                                   for k, v in fd.state_dict().items()}},
                   f.checkpoint)
    model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0


def test_deeplabv2_voc_is_r101_with_aspp_sum():
    cfg = semiseg_mm.get_config('supervised/deeplabv2_voc_1-16.py')
    # PixelSSL's DeepLabv2: output stride 16 with multi-grid, COCO weights
    backbone = cfg.model.backbone
    assert cfg.model.pretrained is None
    assert backbone.type == 'ResNet' and backbone.depth == 101
    assert backbone.strides == (1, 2, 2, 1)
    assert backbone.dilations == (1, 1, 1, 2)
    assert backbone.multi_grid == (2, 4, 8)
    assert backbone.init_cfg.checkpoint.endswith('resnet101COCO-41f33a49.pth')
    assert backbone.init_cfg.prefix == 'Scale.'
    assert cfg.model.decode_head.align_corners is True
    assert cfg.model.backbone.norm_cfg.type == 'SyncBN'
    assert cfg.train_dataloader.dataset.ann_file == \
        'splits/1-16_seed0/labeled.txt'
    model = MODELS.build(cfg.model)
    head = model.decode_head
    assert type(head).__name__ == 'DeepLabV2Head'
    assert [c.dilation for c in head.aspp] == [(6, 6), (12, 12), (18, 18),
                                               (24, 24)]
    assert not hasattr(head, 'conv_seg')


def test_package_prefix_everywhere(tmp_path):
    name = 'supervised/dilatedconvnet_synthetic_1-16.py'
    a = semiseg_mm.get_config(name)
    b = Config.fromfile('semiseg_mm::' + name)
    user = tmp_path / 'my_cfg.py'
    user.write_text(f"_base_ = ['semiseg_mm::{name}']\n"
                    'train_cfg = dict(max_iters=7)\n')
    c = Config.fromfile(str(user))
    # MMEngine tags dicts inherited through ``pkg::`` with the package scope
    assert c.model.pop('_scope_') == 'semiseg_mm'
    assert a.model == b.model == c.model
    assert c.train_cfg.max_iters == 7
    with pytest.raises(FileNotFoundError, match='Configs in supervised/'):
        semiseg_mm.get_config('supervised/nope.py')


def test_model_index_lists_every_config(repo_root):
    """The model index is the zoo a user browses: every config folder has a
    metafile in it, and each metafile lists exactly its folder's configs (a
    config added without rerunning tools/misc/write_metafiles.py, or a
    listed one that was removed, fails here)."""
    from mmengine.fileio import load
    index = load(osp.join(repo_root, 'model-index.yml'))
    folders = sorted(
        osp.relpath(p, repo_root)
        for p in glob.glob(osp.join(repo_root, 'configs', '*'))
        if osp.isdir(p) and osp.basename(p) != '_base_')
    metafiles = [osp.join(f, 'metafile.yml') for f in folders]
    assert sorted(index['Import']) == metafiles
    for folder, meta in zip(folders, metafiles):
        models = load(osp.join(repo_root, meta))['Models']
        listed = {m['Config'] for m in models}
        configs = {
            osp.relpath(p, repo_root)
            for p in glob.glob(osp.join(repo_root, folder, '*.py'))
        }
        assert listed == configs, (
            f'{meta}: not listed {sorted(configs - listed)}, '
            f'no such config {sorted(listed - configs)}')


def test_deeplabv2_head_sums_branches():
    head = MODELS.build(
        dict(
            type='DeepLabV2Head',
            in_channels=4,
            in_index=0,
            dilations=(1, 2),
            num_classes=3))
    head.init_weights()
    x = torch.randn(2, 4, 9, 9)
    out = head((x, ))
    expected = head.aspp[0](x) + head.aspp[1](x)
    assert out.shape == (2, 3, 9, 9)
    assert torch.allclose(out, expected)
    for conv in head.aspp:
        assert torch.all(conv.bias == 0)
        assert 0.005 < conv.weight.std().item() < 0.02


VOC_SPLITS = {  # split: unlabelled images of the blended VOC aug split
    '1-16': 9920, '1-8': 9259, '1-4': 7936, '1-2': 5291}


@pytest.mark.parametrize('method,model,epochs', [
    ('mean_teacher', 'deeplabv3plus-r101', {s: 80 for s in VOC_SPLITS}),
    ('fixmatch', 'deeplabv3plus-r101', {s: 80 for s in VOC_SPLITS}),
    ('gct', 'deeplabv2', {'1-16': 20, '1-8': 20, '1-4': 30, '1-2': 40}),
])
def test_voc_split_configs_change_split_and_schedule_together(
        method, model, epochs):
    """The 1/8..1/2 configs inherit the 1/16 one; each must point at its own
    split and scale every iteration count from its unlabelled set."""
    base = semiseg_mm.get_config(f'{method}/{model}_voc_1-16.py')
    for split, n_unlab in VOC_SPLITS.items():
        cfg = semiseg_mm.get_config(f'{method}/{model}_voc_{split}.py')
        # 2 + 2 images x 4 GPUs per iteration; PixelSSL (GCT) counts an
        # epoch as floor(N_u / 8), the UniMatch-style configs as ceil
        per_epoch = n_unlab // 8 if method == 'gct' else -(-n_unlab // 8)
        max_iters = epochs[split] * per_epoch
        ds = cfg.train_dataloader.dataset
        assert ds.labeled.ann_file == f'splits/{split}_seed0/labeled.txt'
        assert ds.unlabeled.ann_file == f'splits/{split}_seed0/unlabeled.txt'
        assert cfg.train_cfg.max_iters == max_iters
        assert cfg.train_cfg.val_interval == max_iters // 10
        scheds = cfg.param_scheduler
        scheds = sum(scheds.values(), []) if isinstance(scheds,
                                                        dict) else scheds
        assert scheds and all(s.end == max_iters for s in scheds)
        rampup = cfg.model.semi_train_cfg.get('rampup')
        if rampup is not None:  # ramp-up: 3 epochs of the unlabelled set
            assert rampup.rampup_iters == 3 * per_epoch
        # nothing else differs from the 1/16 config
        for key in ('crop_size', 'optim_wrapper', 'custom_hooks'):
            assert cfg.get(key) == base.get(key)
        assert cfg.model.segmentor == base.model.segmentor
