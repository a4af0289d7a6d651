"""Domain-adaptation benchmark on the synthetic domain pair.

The same machinery as the label-efficiency benchmark
(:mod:`.label_efficiency`: one concrete config per row and seed, trained in
a single-threaded subprocess, cached by its config digest, validated on the
target val split and tested on the target test split), with its own rows:
source-only (the lower bound), every adaptation method (adversarial,
entropy-based and DACS self-training), and
target-supervised (the upper bound); "gap closed" is
``(method - source-only) / (target-supervised - source-only)``. The AdvEnt +
MinEnt ensemble is evaluated from the two trained rows of the same seed
(``EnsembleSegmentor``, weights 0.5 / 0.5), as the ADVENT paper reports it.
"""
import json
import os
import os.path as osp
import subprocess
import sys
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config

from . import label_efficiency as le

#: configs name the pair data/synthetic_uda (relative to the run folder)
DATA_LINK = 'synthetic_uda'
ENTRIES: Dict[str, le.Entry] = {}


def register(entry: le.Entry) -> le.Entry:
    if entry.key in ENTRIES:
        raise KeyError(f'domain-adaptation entry {entry.key!r} already '
                       'registered')
    ENTRIES[entry.key] = entry
    return entry


def default_keys() -> List[str]:
    return [k for k, e in ENTRIES.items() if e.default]


@dataclass
class EnsembleEntry:
    """A test-time ensemble of trained rows (no training of its own)."""
    key: str
    name: str
    config: str  # the EnsembleSegmentor config, relative to configs/
    members: Tuple[str, ...]  # entry keys, in the config's members order
    role: str = 'method'
    cost: float = 0.0
    default: bool = True


ENSEMBLES: Dict[str, EnsembleEntry] = {}

PRESETS = {
    # `make demo`'s short version: one seed, 1000 iterations
    'demo': le.Preset(seeds=(0, ), max_iters=1000),
    # the recorded benchmark: the configs' schedule, three seeds
    'full': le.Preset(seeds=(0, 1, 2)),
}

register(
    le.Entry(
        key='source_only',
        name='Source only',
        config='supervised/dilatedconvnet_synthetic-uda_source-only.py',
        role='sup_low'))
register(
    le.Entry(
        key='adaptsegnet',
        name='AdaptSegNet (multi-level)',
        config='adaptsegnet/dilatedconvnet_synthetic-uda_multi-level.py',
        cost=2.0))
register(
    le.Entry(
        key='feature_level',
        name='Feature-level adversarial',
        config='adaptsegnet/dilatedconvnet_synthetic-uda_feature-level.py',
        cost=1.6,
        default=False))
register(
    le.Entry(
        key='minent',
        name='MinEnt',
        config='advent/dilatedconvnet_synthetic-uda_minent.py',
        cost=1.4))
register(
    le.Entry(
        key='advent',
        name='AdvEnt',
        config='advent/dilatedconvnet_synthetic-uda_advent.py',
        cost=2.0))
register(
    le.Entry(
        key='dacs',
        name='DACS (self-training)',
        config='dacs/dilatedconvnet_synthetic-uda_dacs.py',
        cost=1.6))
register(
    le.Entry(
        key='target_supervised',
        name='Target supervised (upper bound)',
        config='supervised/dilatedconvnet_synthetic-uda_target-supervised.py',
        role='sup_full'))
ENSEMBLES['advent_minent'] = EnsembleEntry(
    key='advent_minent',
    name='AdvEnt + MinEnt (ensemble)',
    config='advent/dilatedconvnet_synthetic-uda_advent-minent-ensemble.py',
    members=('advent', 'minent'))


def _run_dir(out_root: str, key: str, seed: int) -> str:
    return osp.abspath(osp.join(out_root, f'{key}_seed{seed}'))


def _last_checkpoint(run_dir: str) -> str:
    with open(osp.join(run_dir, 'work', 'last_checkpoint')) as f:
        return f.read().strip()


def _test(cfg_path: str, run_dir: str, split: str, test_script: str) -> float:
    out = osp.join(run_dir, f'test_{split}')
    opts = []
    if split == 'val':
        opts = ['--cfg-options',
                'test_dataloader.dataset.data_prefix.img_path=img_dir/val',
                'test_dataloader.dataset.data_prefix.seg_map_path=ann_dir/val']
    log_path = osp.join(run_dir, f'test_{split}.log')
    with open(log_path, 'w') as log:
        proc = subprocess.run(
            [sys.executable, test_script, cfg_path, '--work-dir', out, *opts],
            cwd=run_dir, env=le._single_thread_env(), stdout=log,
            stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        with open(log_path) as f:
            raise RuntimeError(f'ensemble test failed ({log_path}):\n'
                               f'{f.read()[-3000:]}')
    return le.read_test_miou(out)


def run_ensemble(ens: EnsembleEntry, seed: int, config_root: str,
                 test_script: str, out_root: str, data_root: str,
                 results: Sequence[le.RunResult]) -> le.RunResult:
    """Evaluate the ensemble of the members' seed-``seed`` checkpoints on
    target val and test (cached by the members' checkpoint paths)."""
    members = {r.entry: r for r in results if r.seed == seed}
    missing = [m for m in ens.members if m not in members]
    if missing:
        raise RuntimeError(f'{ens.key} seed {seed} needs the runs {missing}')
    run_dir = _run_dir(out_root, ens.key, seed)
    os.makedirs(osp.join(run_dir, 'data'), exist_ok=True)
    link = osp.join(run_dir, 'data', DATA_LINK)
    if osp.islink(link):
        os.remove(link)
    os.symlink(osp.abspath(data_root), link)
    cfg = Config.fromfile(osp.join(config_root, ens.config))
    ckpts = [_last_checkpoint(_run_dir(out_root, m, seed))
             for m in ens.members]
    for member, ckpt in zip(cfg.model.members, ckpts):
        member['checkpoint'] = ckpt
    cfg.work_dir = osp.join(run_dir, 'work')
    digest = le.config_digest(cfg)
    result_file = osp.join(run_dir, 'result.json')
    if osp.isfile(result_file):
        with open(result_file) as f:
            cached = json.load(f)
        if cached.get('config_sha1') == digest and all(
                osp.getmtime(c) <= cached.get('time', 0) for c in ckpts):
            return le.RunResult(ens.key, seed, cached['miou'], 0.0,
                                cached['test_miou'])
    cfg_path = osp.join(run_dir, 'config.py')
    cfg.dump(cfg_path)
    import time
    val = _test(cfg_path, run_dir, 'val', test_script)
    test = _test(cfg_path, run_dir, 'test', test_script)
    with open(result_file, 'w') as f:
        json.dump(dict(miou=val, test_miou=test, config_sha1=digest,
                       time=time.time()), f, indent=1)
    return le.RunResult(ens.key, seed, val, 0.0, test)


def gap_rows(rows: Sequence[le.Row]) -> Dict[str, float]:
    """Gap closed (%) of each method row, paired by seed: the mean over
    seeds of (method_s - source_s) / (target_s - source_s)."""
    low = next((r for r in rows if r.entry.role == 'sup_low'), None)
    full = next((r for r in rows if r.entry.role == 'sup_full'), None)
    if low is None or full is None:
        return {}
    out = {}
    for r in rows:
        n = min(len(r.mious), len(low.mious), len(full.mious))
        gaps = [le.gap_closed(r.mious[i], low.mious[i], full.mious[i])
                for i in range(n)]
        out[r.entry.key] = sum(gaps) / n if n else float('nan')
    return out


def beats_source(rows: Sequence[le.Row]) -> Dict[str, Optional[bool]]:
    """Whether each method beats source-only on every seed (paired)."""
    low = next((r for r in rows if r.entry.role == 'sup_low'), None)
    if low is None:
        return {}
    return {
        r.entry.key: all(m > s for m, s in zip(r.mious, low.mious))
        for r in rows if r.entry.role == 'method'
    }
