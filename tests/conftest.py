"""Shared fixtures: a tiny synthetic dataset and helpers to train configs.

Everything runs on CPU with one thread per worker (pytest -n 2 on 2 cores).
"""
import os
import os.path as osp
import sys

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
torch.set_num_threads(1)
os.environ.setdefault('OMP_NUM_THREADS', '1')

# tiny set: enough images for splits and a few iterations
TINY_TRAIN = 32
TINY_VAL = 8
TINY_TEST = 8


@pytest.fixture(autouse=True)
def semiseg_scope():
    """Components built outside a runner resolve names in our scope."""
    from mmengine.registry import init_default_scope
    init_default_scope('semiseg_mm')


@pytest.fixture(scope='session')
def repo_root() -> str:
    return REPO


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory) -> str:
    """A 32+8 image synthetic segmentation set with default splits."""
    from semiseg_mm.datasets.synthetic import (SceneStyle, SegSetSpec,
                                               make_segmentation_set)
    sys.path.insert(0, osp.join(REPO, 'tools'))
    from make_synthetic import write_default_splits
    root = str(tmp_path_factory.mktemp('data') / 'synthetic')
    make_segmentation_set(
        root,
        SegSetSpec(num_train=TINY_TRAIN, num_val=TINY_VAL,
                   num_test=TINY_TEST, style=SceneStyle()),
        progress=False)
    write_default_splits(root, seeds=(0, ))
    return root

