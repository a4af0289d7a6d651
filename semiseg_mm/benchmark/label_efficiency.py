"""The label-efficiency benchmark: how much of the gap between training on
1/16 of the labels and on all of them a method closes.

Every row trains one config on the synthetic set with the same model and
schedule; ``gap closed = (method - sup_low) / (sup_full - sup_low)``. A run
validates on the set's ``val`` split (where hyperparameters are chosen) and
its final checkpoint is then tested on the ``test`` split (what the tables
report); both are stored. The set comes in styles (``SEG_STYLES``:
``textured``, ``shapes``), each benchmarked on its own.
Methods add their row with :func:`register_entry` (see the bottom of this
file); ``tools/label_efficiency.py`` runs them, ``make demo`` shows a short
version.

Each run is a concrete config (seed, split and schedule applied) dumped into
its run folder and trained by ``tools/train.py`` in a subprocess with one
thread, ``jobs`` at a time; a finished run's result is reused when its config
is unchanged, so an interrupted benchmark continues where it stopped.
"""
import hashlib
import json
import math
import os
import os.path as osp
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence

from mmengine.config import Config

ROLES = ('sup_low', 'sup_full', 'method', 'pretrain')
#: the splits a run is evaluated on: val chooses, test reports
SPLITS = ('test', 'val')
# config keys holding iteration counts, scaled with the schedule
_ITER_KEYS = ('max_iters', 'val_interval', 'begin', 'end', 'interval',
              'vis_interval')


@dataclass
class Entry:
    """One row of the benchmark.

    Args:
        key: short id used on the command line (``--methods``).
        name: the row label.
        config: config path relative to ``configs/``.
        role: ``sup_low`` (supervised on the low-label split), ``sup_full``
            (supervised on all labels), ``method``, or ``pretrain`` (a
            first stage whose checkpoint a ``method`` row starts from:
            trained, not evaluated, never a row of the table).
        metric: key of the final validation metric to report (e.g.
            ``teacher/mIoU`` for teacher-student methods).
        split_keys: config keys holding split files, with ``{seed}`` (or
            ``{fold}``, seed + 1, for mmdet's 1-based ``semi_anns`` folds)
            in the value template, e.g.
            ``{'train_dataloader.dataset.ann_file':
            'splits/1-16_seed{seed}/labeled.txt'}``: each seed trains on
            its own split.
        cost: rough time per iteration relative to supervised training;
            the longest runs start first so parallel jobs end together.
        default: run when no ``--methods`` are given (``make demo``, the
            full benchmark, the docs table); ``False`` for variants that
            run only when named.
        checkpoints_from: ``{config key: entry key}``: the key gets the
            final checkpoint of that entry's run with the same seed (e.g.
            FixMatch filtering with the ELN network an ELN run trained);
            those runs train first, in the same benchmark folder.
        iters_share: the share of a preset's ``max_iters`` this row's run
            gets (a two-stage method splits one budget: pretraining 1/3,
            fine-tuning 2/3 keep the total of the one-stage rows); with
            the configs' own schedules (``max_iters=None``) each config's.
        test_metric: key of the metric ``tools/test.py`` writes for the
            test split (``mIoU``; ``coco/bbox_mAP`` for detection).
    """
    key: str
    name: str
    config: str
    role: str = 'method'
    metric: str = 'mIoU'
    split_keys: Dict[str, str] = field(default_factory=dict)
    cost: float = 1.0
    default: bool = True
    checkpoints_from: Dict[str, str] = field(default_factory=dict)
    iters_share: float = 1.0
    test_metric: str = 'mIoU'

    def __post_init__(self):
        if self.role not in ROLES:
            raise ValueError(f'role must be one of {ROLES}, got {self.role}')
        if not 0 < self.iters_share <= 1:
            raise ValueError(f'{self.key}: iters_share must be in (0, 1], '
                             f'got {self.iters_share}')

    def run_iters(self, max_iters: Optional[int]) -> Optional[int]:
        """This row's schedule length under a preset's ``max_iters``
        (``None``: the config's)."""
        if max_iters is None:
            return None
        return max(1, int(round(max_iters * self.iters_share)))


ENTRIES: Dict[str, Entry] = {}


def default_keys() -> List[str]:
    """The entries run when none are named (``Entry.default``)."""
    return [k for k, e in ENTRIES.items() if e.default]


def register_entry(entry: Entry) -> Entry:
    """Add a row (method issues call this for their synthetic config)."""
    if entry.key in ENTRIES:
        raise KeyError(f'benchmark entry {entry.key!r} already registered')
    ENTRIES[entry.key] = entry
    return entry


@dataclass
class Preset:
    """How long and how often each row trains."""
    seeds: Sequence[int]
    max_iters: Optional[int] = None  # None: the config's own schedule


PRESETS = {
    # `make demo` (semiseg_mm.benchmark.demo): one seed, 2000 iterations,
    # on the 32 px demo set (`--style demo`); under 10 min on 2 cores
    'demo': Preset(seeds=(0, ), max_iters=2000),
    # the recorded benchmark: the configs' schedule, three seeds
    'full': Preset(seeds=(0, 1, 2)),
}


def _set(cfg: Config, dotted: str, value) -> None:
    cfg.merge_from_dict({dotted: value})


def apply_options(cfg: Config, options: Optional[dict], name: str) -> None:
    """Merge ``--cfg-options`` (``{'a.b.c': value}``) into ``cfg``.

    Every key's parent must exist in the config (``name`` in the error), so
    a misspelt section is refused instead of adding an unused one; the last
    part may be new (an option the config leaves at its default).
    """
    for key in options or {}:
        node, parts = cfg, key.split('.')
        for i, part in enumerate(parts[:-1]):
            if not isinstance(node, (dict, Config)) or part not in node:
                raise KeyError(f'--cfg-options {key}: {name} has no '
                               f"{'.'.join(parts[:i + 1])!r}")
            node = node[part]
        if not isinstance(node, (dict, Config)):
            raise KeyError(f'--cfg-options {key}: '
                           f"{'.'.join(parts[:-1])!r} in {name} is not a dict")
    cfg.merge_from_dict(dict(options or {}))


def _dicts(node) -> Iterable[dict]:
    """Every dict in a (nested) config node, outer before inner."""
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _dicts(v)
    elif isinstance(node, list):
        for v in node:
            yield from _dicts(v)


def _scaled(count: int, factor: float) -> int:
    """An iteration count times ``factor``: 0 (a schedule's start) stays
    0, any other count stays >= 1."""
    return 0 if count == 0 else max(1, int(round(count * factor)))


def _scale_iterations(node, factor: float) -> None:
    """Scale every iteration count in a (nested) config by ``factor``.

    Counts live under ``max_iters``/``val_interval``/``begin``/``end``/
    ``interval``, a step scheduler's ``milestones`` and, by our convention,
    any ``*_iters`` key (ramp-up and warm-up lengths in ``semi_train_cfg``).
    A count of 0 stays 0 (a scheduler or a training stage beginning at the
    first iteration, a burn-in turned off); consecutive stages stay
    contiguous (the same count rounds the same way).
    """
    for d in _dicts(node):
        for k, v in d.items():
            if isinstance(v, int) and not isinstance(v, bool) and (
                    k in _ITER_KEYS or k.endswith('_iters')):
                d[k] = _scaled(v, factor)
            elif k == 'milestones' and isinstance(v, (list, tuple)):
                d[k] = [_scaled(m, factor) for m in v]


def set_input_size(node, size: Sequence[int]) -> int:
    """Set the padded input ``size`` of every data preprocessor in a
    (nested) model config (a semi-supervised model wraps its segmentor's);
    returns how many were set. The synthetic configs pad to their set's
    64 px; a set of another image size (``SEG_STYLES``) sets its own."""
    found = [
        d for d in _dicts(node)
        if 'DataPreProcessor' in str(d.get('type', '')) and 'size' in d
    ]
    for d in found:
        d['size'] = tuple(size)
    return len(found)


def config_iters(entry: Entry, config_root: str) -> int:
    """The schedule length (``train_cfg.max_iters``) of an entry's config."""
    return int(Config.fromfile(osp.join(config_root,
                                        entry.config)).train_cfg.max_iters)


def make_run_config(entry: Entry,
                    seed: int,
                    config_root: str,
                    max_iters: Optional[int],
                    work_dir: str,
                    cfg_options: Optional[dict] = None,
                    input_size: Optional[Sequence[int]] = None) -> Config:
    """The concrete config of one run (``cfg_options`` merged first, as
    ``tools/train.py --cfg-options`` would; ``input_size``: the set's image
    size, for every data preprocessor's padding)."""
    cfg = Config.fromfile(osp.join(config_root, entry.config))
    apply_options(cfg, cfg_options, entry.config)
    preset_iters, max_iters = max_iters, entry.run_iters(max_iters)
    if input_size is not None:
        if not set_input_size(cfg.model, input_size):
            raise KeyError(f'{entry.config}: no data preprocessor with a '
                           'size to set the input size on')
    if max_iters is not None:
        factor = max_iters / cfg.train_cfg.max_iters
        for part in ('train_cfg', 'param_scheduler', 'default_hooks',
                     'custom_hooks', 'model'):
            if part in cfg:
                _scale_iterations(cfg[part], factor)
        cfg.train_cfg.max_iters = max_iters
        cfg.train_cfg.val_interval = max_iters
        # a scheduled batch composition spans the schedule too
        sampler = (cfg.get('train_dataloader') or {}).get('sampler') or {}
        if 'num_batches' in sampler:
            sampler['num_batches'] = max(
                1, int(round(sampler['num_batches'] * factor)))
    # validate once, at the end; keep only the final checkpoint
    cfg.train_cfg.val_interval = cfg.train_cfg.max_iters
    cfg.default_hooks.checkpoint.interval = cfg.train_cfg.max_iters
    cfg.default_hooks.checkpoint.max_keep_ckpts = 1
    cfg.default_hooks.logger.interval = max(1, cfg.train_cfg.max_iters // 10)
    cfg.randomness = dict(seed=seed)
    for key, template in entry.split_keys.items():
        _set(cfg, key, template.format(seed=seed, fold=seed + 1))
    for key, dep in entry.checkpoints_from.items():
        _set(cfg, key, dependency_checkpoint(dep, seed, config_root,
                                             preset_iters, work_dir))
    cfg.work_dir = work_dir
    return cfg


def dependency_checkpoint(key: str, seed: int, config_root: str,
                          max_iters: Optional[int], work_dir: str) -> str:
    """The final checkpoint of entry ``key``'s run of ``seed`` in the
    benchmark folder that holds ``work_dir`` (``<folder>/<row>_seed<s>/
    work``)."""
    if key not in ENTRIES:
        raise KeyError(f'checkpoints_from names an unknown entry {key!r}')
    iters = ENTRIES[key].run_iters(max_iters) or config_iters(
        ENTRIES[key], config_root)
    folder = osp.dirname(osp.dirname(osp.abspath(work_dir)))
    return osp.join(folder, f'{key}_seed{seed}', 'work', f'iter_{iters}.pth')


def _final_metric(work_dir: str, metric: str) -> float:
    """The last logged value of ``metric`` in the newest run of
    ``work_dir`` (MMEngine's ``<timestamp>/vis_data/scalars.json``).

    A run directory retrained after a config change keeps the older runs'
    timestamp folders; only the most recently written ``scalars.json``
    belongs to the run that just finished.
    """
    logs = [
        osp.join(root, 'scalars.json') for root, _, files in os.walk(work_dir)
        if 'scalars.json' in files
    ]
    if not logs:
        raise RuntimeError(f'no scalars.json was logged in {work_dir}')
    newest = max(logs, key=osp.getmtime)
    found = None
    with open(newest) as f:
        for line in f:
            record = json.loads(line)
            if metric in record:
                found = float(record[metric])
    if found is None:
        raise RuntimeError(f'no {metric!r} was logged in {newest}')
    return found


@dataclass
class RunResult:
    entry: str
    seed: int
    miou: float  # final validation metric (val split: choose with it)
    seconds: float
    test_miou: Optional[float] = None  # test split: report it

    def value(self, split: str) -> Optional[float]:
        return self.miou if split == 'val' else self.test_miou


def config_digest(cfg: Config) -> str:
    """Cache key of a run: the config's text without ``work_dir``, so a
    benchmark folder that is moved or copied keeps its finished runs."""
    cfg = cfg.copy()
    cfg.pop('work_dir', None)
    return hashlib.sha1(cfg.pretty_text.encode()).hexdigest()


def _cached_result(entry: Entry, seed: int, run_dir: str,
                   digest: str) -> Optional[RunResult]:
    result_file = osp.join(run_dir, 'result.json')
    if not osp.isfile(result_file):
        return None
    with open(result_file) as f:
        cached = json.load(f)
    if cached.get('config_sha1') != digest:
        return None
    return RunResult(entry.key, seed, cached['miou'], cached['seconds'],
                     cached.get('test_miou'))


def _write_result(run_dir: str, result: RunResult, digest: str) -> None:
    with open(osp.join(run_dir, 'result.json'), 'w') as f:
        json.dump(
            dict(miou=result.miou, test_miou=result.test_miou,
                 seconds=result.seconds, config_sha1=digest), f, indent=1)


def _single_thread_env() -> dict:
    return dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')


def evaluate_test_split(run_dir: str, cfg_path: str, work_dir: str,
                        test_script: str, metric: str = 'mIoU') -> float:
    """``metric`` of the run's final checkpoint on the config's test split
    (``tools/test.py`` in a subprocess, as a user would run it)."""
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        ckpt = f.read().strip()
    out = osp.join(run_dir, 'test')
    log_path = osp.join(run_dir, 'test.log')
    with open(log_path, 'w') as log:
        proc = subprocess.run(
            [sys.executable, test_script, cfg_path, ckpt, '--work-dir', out],
            cwd=run_dir, env=_single_thread_env(), stdout=log,
            stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        with open(log_path) as f:
            tail = f.read()[-3000:]
        raise RuntimeError(f'testing {ckpt} failed (log: {log_path}):\n'
                           f'{tail}')
    return read_test_miou(out, metric)


def read_test_miou(out: str, metric: str = 'mIoU') -> float:
    """``metric`` (``mIoU`` by default) of the newest ``tools/test.py
    --work-dir out`` run (MMEngine writes the test metrics to
    ``<out>/<stamp>/<stamp>.json``)."""
    logs = [
        osp.join(root, f) for root, _, files in os.walk(out) for f in files
        if f.endswith('.json') and f[:-5] == osp.basename(root)
    ]
    if not logs:
        raise RuntimeError(f'no test metrics were written in {out}')
    with open(max(logs, key=osp.getmtime)) as f:
        return float(json.load(f)[metric])


def finished_run(entry: Entry,
                 seed: int,
                 config_root: str,
                 max_iters: Optional[int],
                 out_root: str,
                 cfg_options: Optional[dict] = None,
                 input_size: Optional[Sequence[int]] = None
                 ) -> Optional[RunResult]:
    """The result of an (entry, seed) run already trained with exactly the
    config it would get now, else None."""
    run_dir = osp.abspath(osp.join(out_root, f'{entry.key}_seed{seed}'))
    cfg = make_run_config(entry, seed, config_root, max_iters,
                          osp.join(run_dir, 'work'), cfg_options, input_size)
    return _cached_result(entry, seed, run_dir, config_digest(cfg))


def run_one(entry: Entry,
            seed: int,
            config_root: str,
            train_script: str,
            max_iters: Optional[int],
            out_root: str,
            data_root: str,
            cfg_options: Optional[dict] = None,
            input_size: Optional[Sequence[int]] = None,
            data_link: str = 'synthetic') -> RunResult:
    """Train one (entry, seed) in a subprocess and test its final
    checkpoint, or reuse its result (testing it if it has no test
    metric yet). The run folder's ``data/<data_link>`` points at
    ``data_root`` (the configs name ``data/synthetic``, the domain pair's
    ``data/synthetic_uda``)."""
    run_dir = osp.abspath(osp.join(out_root, f'{entry.key}_seed{seed}'))
    cfg = make_run_config(entry, seed, config_root, max_iters,
                          osp.join(run_dir, 'work'), cfg_options, input_size)
    for key, dep in entry.checkpoints_from.items():
        path = cfg
        for part in key.split('.'):  # set by make_run_config
            path = path[part]
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'{entry.key} seed {seed}: {key} needs the {dep} run\'s '
                f'checkpoint {path}, which does not exist (run {dep} first)')
    digest = config_digest(cfg)
    cfg_path = osp.join(run_dir, 'config.py')
    test_script = osp.join(osp.dirname(train_script), 'test.py')
    done = _cached_result(entry, seed, run_dir, digest)
    if done is not None:
        if done.test_miou is None and entry.role != 'pretrain':
            done.test_miou = evaluate_test_split(
                run_dir, cfg_path, cfg.work_dir, test_script,
                entry.test_metric)
            _write_result(run_dir, done, digest)
        return done
    os.makedirs(run_dir, exist_ok=True)
    cfg.dump(cfg_path)
    # configs name data/<set> relative to the working directory
    link = osp.join(run_dir, 'data', data_link)
    os.makedirs(osp.dirname(link), exist_ok=True)
    if osp.islink(link):
        os.remove(link)
    os.symlink(osp.abspath(data_root), link)
    env = _single_thread_env()
    log_path = osp.join(run_dir, 'train.log')
    t0 = time.time()
    with open(log_path, 'w') as log:
        proc = subprocess.run([sys.executable, train_script, cfg_path],
                              cwd=run_dir,
                              env=env,
                              stdout=log,
                              stderr=subprocess.STDOUT)
    seconds = time.time() - t0
    if proc.returncode != 0:
        with open(log_path) as f:
            tail = f.read()[-3000:]
        raise RuntimeError(f'{entry.key} seed {seed} failed (log: '
                           f'{log_path}):\n{tail}')
    if entry.role == 'pretrain':  # a first stage: nothing to evaluate
        result = RunResult(entry.key, seed, math.nan, seconds, math.nan)
        _write_result(run_dir, result, digest)
        return result
    result = RunResult(entry.key, seed,
                       _final_metric(cfg.work_dir, entry.metric), seconds)
    result.test_miou = evaluate_test_split(run_dir, cfg_path, cfg.work_dir,
                                           test_script, entry.test_metric)
    _write_result(run_dir, result, digest)
    return result


def run_benchmark(entries: Sequence[Entry],
                  seeds: Sequence[int],
                  config_root: str,
                  train_script: str,
                  out_root: str,
                  data_root: str,
                  max_iters: Optional[int] = None,
                  jobs: int = 2,
                  progress: bool = True,
                  cfg_options: Optional[dict] = None,
                  input_size: Optional[Sequence[int]] = None,
                  data_link: str = 'synthetic',
                  desc: str = 'label-efficiency runs') -> List[RunResult]:
    """Train every (entry, seed), ``jobs`` processes at a time, each config
    with ``cfg_options`` merged in (``input_size``: see
    :func:`make_run_config`; ``data_link``: :func:`run_one`)."""
    # runs whose checkpoints others load train first (rows not asked for
    # run too, unreported); within a wave the longest first (stable:
    # equal costs keep the given order)
    deps = [ENTRIES[k] for e in entries for k in e.checkpoints_from.values()
            if all(k != x.key for x in entries)]
    first = list({e.key: e for e in [e for e in entries
                                     if not e.checkpoints_from] + deps
                  }.values())
    waves = [[(e, s) for e in wave for s in seeds] for wave in (
        first, [e for e in entries if e.checkpoints_from])]
    waves = [sorted(w, key=lambda t: -t[0].cost) for w in waves if w]
    from tqdm import tqdm
    bar = tqdm(total=sum(map(len, waves)), desc=desc, unit='run',
               disable=not progress)
    results: List[RunResult] = []

    def work(task):
        entry, seed = task
        res = run_one(entry, seed, config_root, train_script, max_iters,
                      out_root, data_root, cfg_options, input_size, data_link)
        bar.update()
        bar.write(f'  {entry.name} (seed {seed}): test {entry.test_metric} '
                  f'{res.test_miou:.2f}, val {res.miou:.2f} in '
                  f'{res.seconds / 60:.1f} min')
        return res

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for wave in waves:
            results += list(pool.map(work, wave))
    bar.close()
    asked = {e.key for e in entries}
    results = [r for r in results if r.entry in asked]
    order = {(e.key, s): i for i, (e, s) in enumerate(
        (e, s) for e in entries for s in seeds)}
    return sorted(results, key=lambda r: order[(r.entry, r.seed)])


@dataclass
class Row:
    entry: Entry
    mious: List[float]  # the reported split, one per seed
    minutes: float
    val_mious: List[float] = field(default_factory=list)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.mious)

    @property
    def std(self) -> float:
        return statistics.stdev(self.mious) if len(self.mious) > 1 else 0.0


def summarise(entries: Sequence[Entry],
              results: Iterable[RunResult],
              split: str = 'test') -> List[Row]:
    """One row per entry: its runs' ``split`` metric (``'test'``, what the
    tables report, or ``'val'``) and the val metric beside it."""
    if split not in SPLITS:
        raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
    by_key: Dict[str, List[RunResult]] = {}
    for r in results:
        if r.value(split) is not None:
            by_key.setdefault(r.entry, []).append(r)
    rows = []
    for e in entries:
        if e.role == 'pretrain':  # a first stage: not a row
            continue
        rs = sorted(by_key.get(e.key, []), key=lambda r: r.seed)
        if rs:
            rows.append(
                Row(e, [r.value(split) for r in rs],
                    statistics.fmean(r.seconds for r in rs) / 60,
                    [r.miou for r in rs]))
    return rows


def gap_closed(value: float, low: float, full: float) -> float:
    if not math.isfinite(full - low) or full - low <= 0:
        return float('nan')
    return 100.0 * (value - low) / (full - low)


def markdown_table(rows: Sequence[Row], split: str = 'test') -> str:
    """Rows with their ``split`` mIoU, gap closed, and the val mIoU."""
    low = next((r.mean for r in rows if r.entry.role == 'sup_low'), None)
    full = next((r.mean for r in rows if r.entry.role == 'sup_full'), None)
    lines = [
        f'| method | config | {split} mIoU (mean ± std) | per seed | gap '
        'closed | val mIoU | min/run |', '|---|---|---|---|---|---|---|'
    ]
    for r in rows:
        closed = (gap_closed(r.mean, low, full)
                  if low is not None and full is not None else float('nan'))
        # n/a: a bound is missing, or full labels did not beat 1/16 (too
        # short a schedule, e.g. the demo's)
        gap = (f'{round(closed)} %'  # an int: no '-0 %'
               if math.isfinite(closed) else 'n/a')
        seeds = ' / '.join(f'{m:.1f}' for m in r.mious)
        spread = (f'± {r.std:.2f}'
                  if len(r.mious) > 1 else '(1 seed)')
        val = (f'{statistics.fmean(r.val_mious):.2f}'
               if r.val_mious else '-')
        lines.append(f'| {r.entry.name} | `{r.entry.config}` | {r.mean:.2f} '
                     f'{spread} | {seeds} | {gap} | {val} | '
                     f'{r.minutes:.1f} |')
    return '\n'.join(lines)


def plot(rows: Sequence[Row], path: str, title: str,
         split: str = 'test', ylabel: Optional[str] = None) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(1.6 * len(rows) + 2, 3.6))
    colours = {'sup_low': '#999999', 'sup_full': '#444444',
               'method': '#1f77b4'}
    ax.bar(range(len(rows)), [r.mean for r in rows],
           yerr=[r.std for r in rows],
           color=[colours[r.entry.role] for r in rows], capsize=4)
    for i, r in enumerate(rows):
        ax.text(i, r.mean + r.std + 0.5, f'{r.mean:.1f}', ha='center',
                fontsize=9)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([r.entry.name for r in rows], rotation=15,
                       ha='right', fontsize=8)
    ax.set_ylabel(ylabel or f'mIoU (synthetic {split})')
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def replace_block(text: str, marker: str, block: str) -> str:
    """Replace the text between ``<!-- marker:start -->`` and
    ``<!-- marker:end -->`` (appending the markers if missing)."""
    start, end = f'<!-- {marker}:start -->', f'<!-- {marker}:end -->'
    new = f'{start}\n{block}\n{end}'
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        return head + new + tail
    return text.rstrip('\n') + '\n\n' + new + '\n'


# --------------------------------------------------------------------- #
# rows: the supervised bounds and every method at 1/16
# --------------------------------------------------------------------- #
SEMI_SPLIT_KEYS = {
    'train_dataloader.dataset.labeled.ann_file':
    'splits/1-16_seed{seed}/labeled.txt',
    'train_dataloader.dataset.unlabeled.ann_file':
    'splits/1-16_seed{seed}/unlabeled.txt',
}

register_entry(
    Entry(
        key='sup_1-16',
        name='Supervised, 1/16 labels',
        config='supervised/dilatedconvnet_synthetic_1-16.py',
        role='sup_low',
        split_keys={
            'train_dataloader.dataset.ann_file':
            'splits/1-16_seed{seed}/labeled.txt'
        }))
register_entry(
    Entry(
        key='sup_full',
        name='Supervised, all labels',
        config='supervised/dilatedconvnet_synthetic_full.py',
        role='sup_full'))
register_entry(
    Entry(
        key='mean_teacher',
        name='Mean Teacher, 1/16',
        config='mean_teacher/dilatedconvnet_synthetic_1-16.py',
        metric='teacher/mIoU',
        split_keys=SEMI_SPLIT_KEYS,
        cost=2.2))
register_entry(
    Entry(
        key='fixmatch',
        name='FixMatch, 1/16',
        config='fixmatch/dilatedconvnet_synthetic_1-16.py',
        metric='teacher/mIoU',
        split_keys=SEMI_SPLIT_KEYS,
        cost=2.2))
# named variants: FixMatch with the demo's 8 + 8 batch (mu = 1), and
# FixMatch and Mean Teacher with each pseudo-label filter (the filter
# screen; configs <method>/dilatedconvnet-<variant>_synthetic_1-16.py)
_FILTER_NAMES = {
    'classadaptive': 'class-adaptive thresholds',
    'classbalanced': 'class-balanced caps',
    'entropyrank': 'entropy rank',
    'softweight': 'soft confidence weights'
}
for _method, _title, _variants in (
        ('fixmatch', 'FixMatch', ['mu1', *_FILTER_NAMES]),
        ('mean_teacher', 'Mean Teacher', ['classadaptive', 'softweight'])):
    for _key in _variants:
        register_entry(
            Entry(
                key=f'{_method}_{_key}',
                name=(f'{_title} (8 + 8), 1/16' if _key == 'mu1' else
                      f'{_title} + {_FILTER_NAMES[_key]}, 1/16'),
                config=f'{_method}/dilatedconvnet-{_key}_synthetic_1-16.py',
                metric='teacher/mIoU',
                split_keys=SEMI_SPLIT_KEYS,
                cost=1.6 if _key == 'mu1' else 2.2,
                default=False))

register_entry(
    Entry(
        key='eln',
        name='ELN, 1/16',
        config='eln/dilatedconvnet_synthetic_1-16.py',
        metric='teacher/mIoU',
        split_keys=SEMI_SPLIT_KEYS,
        cost=3.3))
register_entry(
    Entry(
        key='eln_train_in_semi',
        name='ELN, trained on in the semi stage (official code), 1/16',
        config='eln/dilatedconvnet-train-eln-in-semi_synthetic_1-16.py',
        metric='teacher/mIoU',
        split_keys=SEMI_SPLIT_KEYS,
        cost=3.5,
        default=False))
# FixMatch filtering with a network another method trained: the run of
# that method on the same seed first, its final checkpoint loaded
for _key, _name, _config, _source in (
        ('fixmatch_eln', 'FixMatch + ELN filter, 1/16',
         'fixmatch/dilatedconvnet-eln_synthetic_1-16.py', 'eln'),
        ('fixmatch_flawmap', "FixMatch + GCT's flaw-map filter, 1/16",
         'fixmatch/dilatedconvnet-flawmap_synthetic_1-16.py', 'gct')):
    register_entry(
        Entry(
            key=_key,
            name=_name,
            config=_config,
            metric='teacher/mIoU',
            split_keys=SEMI_SPLIT_KEYS,
            checkpoints_from={'model.pseudo_label_filter.checkpoint': _source},
            cost=2.4,
            default=False))
# label-based pixel contrastive pretraining: a first stage (1/3 of the
# iterations, the labelled images only) per loss variant, and the
# fine-tuning row that starts from it (2/3): the same total as sup_1-16
for _variant, _suffix, _label in (('cross_image', '', 'cross-image'),
                                  ('within_image', '_within', 'within-image'),
                                  ('batch', '_batch', 'batch')):
    _pre = ('pixel_contrast/dilatedconvnet_synthetic_1-16_pretrain.py'
            if _variant == 'cross_image' else
            f'pixel_contrast/dilatedconvnet-{_label}_synthetic_1-16_pretrain.py')
    register_entry(
        Entry(
            key=f'pixel_contrast_pretrain{_suffix}',
            name=f'Pixel contrastive pretraining ({_label}), stage 1',
            config=_pre,
            role='pretrain',
            split_keys={
                'train_dataloader.dataset.ann_file':
                'splits/1-16_seed{seed}/labeled.txt'
            },
            cost=1.6,
            iters_share=1 / 3,
            default=False))
    register_entry(
        Entry(
            key=f'pixel_contrast{_suffix}',
            name=f'Pixel contrastive pretraining ({_label}) + fine-tuning, '
            '1/16',
            config='pixel_contrast/dilatedconvnet_synthetic_1-16_finetune.py',
            split_keys={
                'train_dataloader.dataset.ann_file':
                'splits/1-16_seed{seed}/labeled.txt'
            },
            checkpoints_from={
                'model.backbone.init_cfg.checkpoint':
                f'pixel_contrast_pretrain{_suffix}'
            },
            iters_share=2 / 3,
            default=_variant == 'cross_image'))
register_entry(
    Entry(
        key='dual_branch',
        name='Strong-weak dual branch (EMA teacher), 1/16',
        config='dual_branch/dilatedconvnet_synthetic_1-16.py',
        metric='teacher/mIoU',
        split_keys=SEMI_SPLIT_KEYS,
        cost=2.3))
register_entry(
    Entry(
        key='gct',
        name='GCT, 1/16',
        config='gct/dilatedconvnet_synthetic_1-16.py',
        metric='model1/mIoU',
        split_keys=SEMI_SPLIT_KEYS,
        cost=5.0))
register_entry(
    Entry(
        key='gct_strong_ce',
        name='GCT + strong view + CE (extensions), 1/16',
        config='gct/dilatedconvnet-strong-ce_synthetic_1-16.py',
        metric='model1/mIoU',
        split_keys=SEMI_SPLIT_KEYS,
        cost=6.0,
        default=False))
register_entry(
    Entry(
        key='gct_strong_ema',
        name='GCT + strong view + CE + EMA guidance (extensions), 1/16',
        config='gct/dilatedconvnet-strong-ema_synthetic_1-16.py',
        metric='model1/mIoU',
        split_keys=SEMI_SPLIT_KEYS,
        cost=6.0,
        default=False))
