"""Runner set-up shared by tools/train.py and tools/test.py.

Besides the usual MMSeg 1.x command-line handling it makes
``tools/dist_train.sh CONFIG N`` work on machines without CUDA: MMEngine
0.10.7's ``pytorch`` launcher calls ``torch.cuda.set_device`` (fails on CPU
torch) and its runner passes ``device_ids=[LOCAL_RANK]`` to DDP (CPU modules
reject it). On such machines we initialise a gloo process group before the
runner is built (the runner then skips its own ``init_dist``) and give the
model wrapper ``device_ids=None``.
"""
import argparse
import gc
import logging
import os.path as osp
from typing import List, Optional

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.logging import print_log


def setup_cpu_distributed(cfg: Config) -> bool:
    """Prepare a torchrun-launched job on CPU. Returns whether it did."""
    if cfg.get('launcher', 'none') != 'pytorch' or torch.cuda.is_available():
        return False
    if not dist.is_initialized():
        timeout = cfg.get('env_cfg', {}).get('dist_cfg', {}).get('timeout')
        kwargs = {}
        if timeout is not None:
            import datetime
            kwargs['timeout'] = datetime.timedelta(seconds=timeout)
        dist.init_process_group(backend='gloo', **kwargs)
    wrapper = cfg.get('model_wrapper_cfg', None)
    if wrapper is None:
        wrapper = dict(
            type='MMDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    return True


def apply_common_args(cfg: Config,
                      config_path: str,
                      work_dir: Optional[str] = None,
                      launcher: str = 'none',
                      cfg_options: Optional[dict] = None) -> Config:
    """``--launcher``, ``--cfg-options`` and ``--work-dir`` as MMSeg does."""
    cfg.launcher = launcher
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config_path))[0])
    return cfg


def enable_amp(cfg: Config) -> None:
    """Switch the optimiser wrapper(s) to AMP, as MMSeg's ``--amp`` does."""
    if not torch.cuda.is_available():
        raise SystemExit('--amp needs a CUDA device (MMEngine AMP training '
                         'supports GPU/NPU/MLU only); drop --amp on CPU.')
    optim = cfg.optim_wrapper
    if 'optimizer' in optim:
        wrappers = [optim]
    else:  # one wrapper per sub-model (GCT, UDA): OptimWrapperDict
        wrappers = [
            v for v in optim.values() if isinstance(v, dict) and 'optimizer' in v
        ]
    if not wrappers:
        raise SystemExit('--amp: no optimizer wrapper found in optim_wrapper')
    for w in wrappers:
        kind = w.get('type', 'OptimWrapper')
        if kind == 'AmpOptimWrapper':
            print_log('AMP training is already enabled in your config.',
                      logger='current', level=logging.WARNING)
        elif kind != 'OptimWrapper':
            raise SystemExit(f'--amp supports OptimWrapper only, got {kind}')
        else:
            w['type'] = 'AmpOptimWrapper'
            w['loss_scale'] = 'dynamic'


def parse_cfg_options(pairs: Optional[List[str]]) -> Optional[dict]:
    """``--cfg-options`` ``KEY=VALUE`` strings read as MMEngine's
    ``DictAction`` reads them (the tools parse their arguments with plain
    argparse before importing MMEngine)."""
    if not pairs:
        return None
    from mmengine.config import DictAction
    namespace = argparse.Namespace()
    DictAction(option_strings=['--cfg-options'], dest='cfg_options')(
        None, namespace, pairs)
    return namespace.cfg_options


def finish_distributed() -> None:
    """Tear the process group down once every rank is done.

    Call it after dropping the runner: neither MMEngine's runner nor
    torchrun destroys the process group, and a DDP wrapper still alive
    keeps it alive too. A gloo group left to the interpreter's exit is
    destroyed with its threads still joinable, and a rank can die with
    ``terminate called without an active exception`` (SIGABRT) after
    training finished, failing the job (seen with torch 2.13 on CPU in
    the two-process Mean Teacher test of ``tests/test_semi_training.py``
    before this teardown existed). The barrier keeps a fast rank from
    tearing down while another still talks.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return
    gc.collect()  # DDP wrappers in reference cycles hold the group
    dist.barrier()
    dist.destroy_process_group()


def build_runner(cfg: Config):
    """Build the runner (``runner_type`` if the config names one)."""
    from mmengine.runner import Runner
    setup_cpu_distributed(cfg)
    if 'runner_type' in cfg:
        from semiseg_mm.registry import RUNNERS
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)

