"""``make demo``: label efficiency in minutes, with a picture.

The demo trains three rows of the label-efficiency benchmark on one seed
(:data:`DEMO`): supervised with 1/16 of the labels, supervised with all of
them, and one semi-supervised method, with the benchmark's own configs for
2000 iterations (their ramp-ups and decay scaled) on the demo set
(``SEG_STYLES['demo']``: the textured look on a 32 px canvas), where an
iteration costs about a third of the 64 px one, so the ranking of the full
benchmark (all labels > the method > 1/16 of the labels) shows within the
time budget on a 2-core CPU. The other methods are listed with their
recorded full-benchmark figures (64 px set), read from
``docs/benchmarks.md``, and marked as such. It ends by writing a picture of
the method's pseudo-labels, accepted pixels and predictions next to the
supervised model's on validation images, and the label-efficiency plot.
"""
import os.path as osp
import re
from dataclasses import dataclass
from typing import List, Optional, Sequence

from . import domain_adaptation as da
from . import label_efficiency as le


@dataclass
class DemoPreset:
    """What ``make demo`` trains, for how long, and on which set."""
    rows: Sequence[str]  # entries trained now
    method: str  # the semi-supervised row shown in the picture
    max_iters: Optional[int] = None  # None: the configs' own schedule
    # (the configs' ramp-ups and decay are scaled to it)
    seed: int = 0
    style: str = 'demo'  # a SEG_STYLES key: the set the rows train on


#: the rows, method, schedule and set of ``make demo`` (docs/benchmarks.md,
#: "make demo", records its ranking per seed and its time). FixMatch with
#: 8 + 8 images per batch: the 8 + 16 benchmark row ranks as well, but its
#: 8.5 minutes alone would overrun the 10-minute budget.
DEMO = DemoPreset(rows=('sup_1-16', 'sup_full', 'fixmatch_mu1'),
                  method='fixmatch_mu1',
                  max_iters=le.PRESETS['demo'].max_iters)


@dataclass
class UDADemoPreset:
    """The domain-adaptation rows ``make demo`` trains on the synthetic
    pair."""
    rows: Sequence[str]  # domain-adaptation entries (bounds + the method)
    method: str
    max_iters: int


#: source-only, one adaptation method and target-supervised, 1000
#: iterations (docs/benchmarks.md, "make demo")
UDA_DEMO = UDADemoPreset(
    rows=('source_only', 'advent', 'target_supervised'),
    method='advent',
    max_iters=da.PRESETS['demo'].max_iters)


@dataclass
class DetDemoPreset:
    """The detection rows ``make demo --det`` trains on the synthetic
    detection set."""
    rows: Sequence[str]  # detection entries (supervised-only + the method)
    method: str
    max_iters: int


#: supervised-only and Soft Teacher at 5 % labels, 1000 iterations (the
#: configs' burn-in, steps and health interval scaled; docs/benchmarks.md,
#: "make demo")
DET_DEMO = DetDemoPreset(rows=('det_sup', 'det_soft_teacher'),
                         method='det_soft_teacher', max_iters=1000)


#: further recorded tables ``make demo`` lists: (docs/benchmarks.md block
#: marker, what it is, its metric)
RECORDED_BLOCKS = (
    ('eln-full', 'ELN (3 seeds, test split, this machine\'s supervised '
     'row beside it)', 'mIoU'),
    ('eln-paper-full', "ELN's paper form and FixMatch with ELN's mask as "
     'its filter (3 seeds, test split, with supervised and FixMatch of the '
     'same machine)', 'mIoU'),
    ('contrast-dual-full', 'pixel contrastive pretraining and the dual '
     'branch (3 seeds, test split, with FixMatch and supervised re-run on '
     'the same machine)', 'mIoU'),
    ('det-benchmark', 'semi-supervised detection (synthetic detection set, '
     '5 % labels, test split; `--det` trains two of its rows now)',
     'COCO box AP x 100'),
)


@dataclass
class RecordedRow:
    name: str
    config: str
    mean: str
    gap: str


def recorded_rows(doc: str, marker: str = 'label-efficiency-full',
                  skip: Sequence[str] = ()) -> List[RecordedRow]:
    """The rows of a recorded table in ``doc`` (between its ``marker``
    comments), except those whose config is in ``skip``; [] when the file
    or block is missing. Columns are found by their headers: the first two
    are the name and the config, the mean is the first ``... (mean ...)``
    column (mIoU, box AP), the gap the ``gap closed`` one (``-`` where a
    table has none)."""
    if not osp.isfile(doc):
        return []
    with open(doc) as f:
        text = f.read()
    m = re.search(rf'<!-- {marker}:start -->(.*?)<!-- {marker}:end -->', text,
                  re.S)
    if m is None:
        return []
    rows = []
    mean_col = gap_col = None
    for line in m.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if len(cells) < 3:
            continue
        if not cells[1].startswith('`'):
            heads = [c.lower() for c in cells]
            if any('(mean' in h for h in heads):
                mean_col = next(i for i, h in enumerate(heads)
                                if '(mean' in h)
                gap_col = next((i for i, h in enumerate(heads)
                                if h == 'gap closed'), None)
            continue
        config = cells[1].strip('`')
        if config in skip or mean_col is None:
            continue
        rows.append(RecordedRow(
            cells[0], config, cells[mean_col],
            cells[gap_col] if gap_col is not None else '-'))
    return rows


def recorded_table(rows: Sequence[RecordedRow],
                   metric: str = 'mIoU') -> str:
    lines = [
        '| method (recorded: 3 seeds, full schedule) | config | '
        f'{metric} (mean ± std) | gap closed |', '|---|---|---|---|'
    ]
    for r in rows:
        lines.append(f'| {r.name} | `{r.config}` | {r.mean} | {r.gap} |')
    return '\n'.join(lines)


def _load(run_dir: str, device: str = 'cpu'):
    """The model of a finished benchmark run (its dumped config and final
    checkpoint), in eval mode, and its config."""
    from mmengine.config import Config
    from mmengine.runner import load_checkpoint

    from semiseg_mm.registry import MODELS
    cfg = Config.fromfile(osp.join(run_dir, 'config.py'))
    model = MODELS.build(cfg.model)
    with open(osp.join(run_dir, 'work', 'last_checkpoint')) as f:
        load_checkpoint(model, f.read().strip(), map_location=device,
                        logger='silent')
    return model.to(device).eval(), cfg


def demo_picture(sup_run: str, method_run: str, out: str,
                 num_images: int = 4, label: str = 'method') -> str:
    """A grid of ``num_images`` validation images, one row each: the image,
    its mask, the supervised model's prediction, the method's pseudo-labels
    (teacher argmax and confidence), the pixels its filter accepts, and its
    prediction (titled ``label``). Returns ``out``."""
    import cv2
    import torch
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope

    from semiseg_mm.models.utils import full_res_logits
    from semiseg_mm.registry import DATASETS
    from semiseg_mm.visualization import preprocessor_mean_std, render_panels
    init_default_scope('semiseg_mm')
    sup, _ = _load(sup_run)
    method, cfg = _load(method_run)
    ds_cfg = cfg.val_dataloader.dataset.copy()
    root = ds_cfg.get('data_root', '')
    if root and not osp.isabs(root):  # runs name data/... in their folder
        ds_cfg.data_root = osp.join(method_run, root)
    dataset = DATASETS.build(ds_cfg)
    batch = pseudo_collate([dataset[i] for i in range(num_images)])
    with torch.no_grad():
        data = method.data_preprocessor(batch, False)
        x = data['inputs']
        probs = method.teacher_probs(x, method.pseudo_source)
        _, accept = method.probe_pseudo_labels(x)
        panels = dict(
            image=x,
            ground_truth=torch.stack(
                [s.gt_sem_seg.data[0] for s in data['data_samples']]),
            supervised_logits=full_res_logits(sup, x),
            teacher_probs=probs,
            accepted=accept if accept.dtype == torch.bool else accept > 0.5,
            **{f'{label}_logits': full_res_logits(method.predict_model(), x)})
    mean, std = preprocessor_mean_std(method)
    grid = render_panels(panels, dataset.metainfo['palette'], mean, std,
                         num_images)
    cv2.imwrite(out, cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
    return out


def beats_supervised(rows: Sequence[le.Row]) -> Optional[bool]:
    """Every trained method above supervised-only at the same labels (the
    detection demo has no all-labels row); None when a side is missing."""
    low = next((r.mean for r in rows if r.entry.role == 'sup_low'), None)
    methods = [r.mean for r in rows if r.entry.role == 'method']
    if low is None or not methods:
        return None
    return all(m > low for m in methods)


def ranking_holds(rows: Sequence[le.Row]) -> Optional[bool]:
    """All labels > every trained method > 1/16 of the labels (None when a
    bound is missing)."""
    low = next((r.mean for r in rows if r.entry.role == 'sup_low'), None)
    full = next((r.mean for r in rows if r.entry.role == 'sup_full'), None)
    if low is None or full is None:
        return None
    methods = [r.mean for r in rows if r.entry.role == 'method']
    return bool(methods) and all(low < m < full for m in methods)
