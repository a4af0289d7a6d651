"""Helpers for tests that train configs in-process."""
import os.path as osp
import uuid
from typing import Optional

from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope

from semiseg_mm.utils.launch import build_runner

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SUP_CFG = osp.join(REPO,
                   'configs/supervised/dilatedconvnet_synthetic_1-16.py')


def synthetic_overrides(data_root: str, work_dir: str, max_iters: int = 4,
                        ckpt_interval: Optional[int] = None,
                        val: bool = True) -> dict:
    """Overrides that make a synthetic config run in seconds on CPU."""
    return {
        'work_dir': work_dir,
        'train_dataloader.dataset.data_root': data_root,
        'val_dataloader.dataset.data_root': data_root,
        'test_dataloader.dataset.data_root': data_root,
        'train_dataloader.batch_size': 2,
        'train_cfg.max_iters': max_iters,
        'train_cfg.val_interval': max_iters if val else 10**9,
        'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.interval': ckpt_interval or max_iters,
        'default_hooks.checkpoint.max_keep_ckpts': -1,
        'param_scheduler': [
            dict(type='PolyLR', power=0.9, begin=0, end=8, by_epoch=False)
        ],
        'log_level': 'WARNING',
    }


def load_cfg(path: str, overrides: dict) -> Config:
    cfg = Config.fromfile(path)
    cfg.merge_from_dict(overrides)
    return cfg


def train(cfg: Config, resume: bool = False, scope: str = 'semiseg_mm'):
    """Build a runner from ``cfg`` and train; returns the runner
    (``scope``: ``semiseg_mm_det`` for detection configs)."""
    init_default_scope(scope)
    # MMEngine keeps visualizers (and their save_dir) as named singletons:
    # a second runner in the same process would log into the first's folder
    cfg.visualizer.name = f'visualizer_{uuid.uuid4().hex}'
    cfg.resume = resume
    cfg.launcher = 'none'
    runner = build_runner(cfg)
    runner.train()
    return runner


def semi_overrides(data_root: str, work_dir: str, max_iters: int = 3,
                   val: bool = True, labeled: int = 2,
                   unlabeled: int = 2) -> dict:
    """``synthetic_overrides`` for configs whose train set is a SemiDataset
    (labelled + unlabelled sources, SemiSourceSampler)."""
    opts = synthetic_overrides(data_root, work_dir, max_iters, val=val)
    del opts['train_dataloader.dataset.data_root']
    opts.update({
        'train_dataloader.dataset.labeled.data_root': data_root,
        'train_dataloader.dataset.unlabeled.data_root': data_root,
        'train_dataloader.batch_size': labeled + unlabeled,
        'train_dataloader.sampler.batch_size': labeled + unlabeled,
        'train_dataloader.sampler.source_ratio': [labeled, unlabeled],
    })
    return opts


def cfg_path(rel: str) -> str:
    return osp.join(REPO, 'configs', rel)


def tiny_segmentor(num_classes: int = 3) -> dict:
    """A two-layer DilatedConvNet + FCNHead EncoderDecoder (about 1k
    parameters) for segmentor unit tests."""
    return dict(
        type='EncoderDecoder',
        backbone=dict(
            type='DilatedConvNet', stem_channels=4, channels=8,
            dilations=(1, 2)),
        decode_head=dict(
            type='FCNHead',
            in_channels=[4, 8],
            in_index=[0, 1],
            input_transform='resize_concat',
            channels=8,
            num_convs=1,
            concat_input=False,
            dropout_ratio=0,
            num_classes=num_classes,
            init_cfg=None,
            loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0)),
        train_cfg=ConfigDict(),
        test_cfg=ConfigDict(mode='whole'))


def measure_speed(path: str, data_root: str, link: str, tmp_path,
                  **kwargs) -> dict:
    """``semiseg_mm.benchmark.speed.measure`` of config ``path`` run from
    ``tmp_path``, where ``data/<link>`` points at ``data_root`` (the configs
    name their data relative to the working directory)."""
    import os
    from semiseg_mm.benchmark.speed import measure
    data = tmp_path / 'data'
    data.mkdir(exist_ok=True)
    if not (data / link).exists():
        os.symlink(data_root, data / link)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        return measure(path, **kwargs)
    finally:
        os.chdir(cwd)
