"""Every real-dataset config in the zoo stays runnable: on a miniature copy of
its dataset's real on-disk layout (tests/real_layouts.py) it builds its train
and val dataloaders, draws a batch through the full pipeline, and builds its
model, whose heads predict the dataset's classes."""
import functools
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from helpers import REPO
from real_layouts import LAYOUTS, SYNTHETIC
from semiseg_mm.engine.hooks.dataset_check_hook import decode_heads
from semiseg_mm.registry import MODELS


def dataset_types(cfg) -> set:
    """Dataset types named anywhere in the config's dataloaders."""
    found = set()

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get('type'), str) and node['type'].endswith(
                    'Dataset') and node['type'] not in ('SemiDataset',
                                                        'UDADataset',
                                                        'ConcatDataset'):
                found.add(node['type'])
            for v in node.values():
                walk(v)
        elif isinstance(node, (list, tuple)):
            for v in node:
                walk(v)

    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        walk((cfg.get(key) or {}).get('dataset', {}))
    return found


ALL = sorted(
    p for p in glob.glob(osp.join(REPO, 'configs', '*', '*.py'))
    if '/_base_/' not in p)
# the synthetic detection configs read the generated set through mmdet's
# CocoDataset, like the real COCO ones: told apart by name
REAL = [
    p for p in ALL if 'synthetic' not in osp.basename(p)
    and not dataset_types(Config.fromfile(p)) <= set(SYNTHETIC)
]


def test_real_configs_found():
    names = [osp.relpath(p, REPO) for p in REAL]
    assert 'configs/gct/deeplabv2_voc_1-16.py' in names
    assert 'configs/fixmatch/deeplabv3plus-r101_cityscapes_1-8.py' in names
    assert not any('synthetic' in n for n in names)


@pytest.fixture(scope='module')
def layout_root(tmp_path_factory):
    """One folder holding every miniature layout under data/."""
    root = str(tmp_path_factory.mktemp('real_layouts'))
    for write in LAYOUTS.values():
        write(root)
    return root


@functools.lru_cache(maxsize=4)
def build_model(model_text: str, scope: str = 'semiseg_mm'):
    if scope == 'semiseg_mm_det':
        from semiseg_mm.det.registry import MODELS as DET_MODELS
        return DET_MODELS.build(Config.fromstring(model_text, '.py').model)
    return MODELS.build(Config.fromstring(model_text, '.py').model)


def detector_heads(model):
    """(name, head) of a semi-supervised detector's class-predicting heads."""
    for part in ('student', 'teacher'):
        yield (f'{part}.roi_head.bbox_head',
               getattr(model, part).roi_head.bbox_head)


@pytest.mark.parametrize('path', REAL, ids=lambda p: osp.relpath(p, REPO))
def test_real_config_draws_a_batch_and_builds(path, layout_root,
                                              monkeypatch):
    cfg = Config.fromfile(path)
    missing = dataset_types(cfg) - set(LAYOUTS)
    assert not missing, (f'{osp.relpath(path, REPO)} reads {missing}: add '
                         'a miniature layout writer to tests/real_layouts.py')
    monkeypatch.chdir(layout_root)  # configs name data/... relative paths
    init_default_scope(cfg.get('default_scope', 'semiseg_mm'))
    batches = {}
    ensemble = cfg.model.type == 'EnsembleSegmentor'
    if ensemble:  # evaluation only; members load trained checkpoints
        assert cfg.train_dataloader is None
        assert all(m.checkpoint for m in cfg.model.members)
        for m in cfg.model.members:
            m.checkpoint = None
    keys = ('val_dataloader', ) if ensemble else ('train_dataloader',
                                                  'val_dataloader')
    # a pretraining stage (no classifier) has no validation
    keys = [k for k in keys if cfg.get(k) is not None]
    for key in keys:
        loader_cfg = cfg[key].copy()
        loader_cfg.num_workers = 0
        loader_cfg.persistent_workers = False
        loader = Runner.build_dataloader(loader_cfg, seed=0)
        batches[key] = next(iter(loader))
        classes = loader.dataset.metainfo['classes']
    scope = cfg.get('default_scope', 'semiseg_mm')
    model = build_model(Config(dict(model=cfg.model)).pretty_text, scope)
    heads = (detector_heads(model)
             if scope == 'semiseg_mm_det' else decode_heads(model))
    for head_key, head in heads:
        assert head.num_classes == len(classes), head_key
    if ensemble:
        val = model.data_preprocessor(batches['val_dataloader'], False)
        assert val['inputs'].dim() == 4
        return
    train = model.data_preprocessor(batches['train_dataloader'], True)
    inputs = train['inputs']
    views = inputs.values() if isinstance(inputs, dict) else [inputs]
    crop = cfg.get('crop_size')
    for x in views:
        assert x.dim() == 4 and x.shape[1] == 3
        if crop is not None:
            assert tuple(x.shape[-2:]) == tuple(crop), path
    if 'val_dataloader' in batches:
        val = model.data_preprocessor(batches['val_dataloader'], False)
        assert val['inputs'].dim() == 4
