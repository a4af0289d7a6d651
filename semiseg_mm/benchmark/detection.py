"""The semi-supervised detection benchmark on the synthetic detection set:
supervised-only vs Soft Teacher with mmdet's fixed batch composition vs the
scheduled labelled share, at the set's lowest label fraction.

Rows reuse the label-efficiency machinery (:mod:`.label_efficiency`: one
config per row, a run per seed in a subprocess, cached by config, the final
checkpoint tested on the test split by ``tools/test.py``); seed k trains on
``semi_anns`` fold k + 1. Each row's value is the test split's COCO box AP
(``coco/bbox_mAP``, x 100); the table pairs every row with the supervised
run of the same seed.
"""
import statistics
from typing import List, Sequence

from .label_efficiency import ENTRIES, Entry, Row, register_entry

#: the labelled percentage the benchmark runs at: the synthetic set's lowest
#: (100 of its 2,000 training images; tools/make_synthetic.py)
PERCENT = 5
DET_KEYS = ('det_sup', 'det_soft_teacher', 'det_soft_teacher_scheduled')
_LAB = ('semi_anns/instances_train.{fold}@' + str(PERCENT) + '.json')
_UNLAB = ('semi_anns/instances_train.{fold}@' + str(PERCENT) +
          '-unlabeled.json')
_SEMI_SPLIT = {
    'train_dataloader.dataset.datasets.0.ann_file': _LAB,
    'train_dataloader.dataset.datasets.1.ann_file': _UNLAB,
}

register_entry(
    Entry(
        key='det_sup',
        name=f'Supervised only, {PERCENT} % labelled',
        config='supervised/faster-rcnn-tiny_synthetic-det_0.05.py',
        role='sup_low',
        metric='coco/bbox_mAP',
        test_metric='coco/bbox_mAP',
        split_keys={'train_dataloader.dataset.ann_file': _LAB},
        default=False))
# Soft Teacher with mmdet's fixed batch composition and with the scheduled
# labelled share: the same row but for the config
for _key, _name, _config in (
        ('det_soft_teacher', 'Soft Teacher (fixed 4 + 4)',
         'soft_teacher/faster-rcnn-tiny_synthetic_semi-0.05.py'),
        ('det_soft_teacher_scheduled',
         'Soft Teacher, labelled share 0.5 -> 0',
         'soft_teacher/faster-rcnn-tiny-scheduled_synthetic_semi-0.05.py')):
    register_entry(
        Entry(
            key=_key,
            name=f'{_name}, {PERCENT} % labelled',
            config=_config,
            metric='teacher/coco/bbox_mAP',
            test_metric='coco/bbox_mAP',
            split_keys=_SEMI_SPLIT,
            cost=2.0,
            default=False))


def det_entries(keys: Sequence[str] = DET_KEYS) -> List[Entry]:
    return [ENTRIES[k] for k in keys]


def markdown_table(rows: Sequence[Row]) -> str:
    """Box AP (x 100) per row, with the paired gain over supervised-only
    (same seed, same labelled fold)."""
    sup = next((r for r in rows if r.entry.role == 'sup_low'), None)
    lines = [
        '| method | config | box AP (mean ± std) | per seed | vs supervised '
        '(paired) | val box AP | min/run |', '|---|---|---|---|---|---|---|'
    ]
    for r in rows:
        ap = [100 * v for v in r.mious]
        mean = statistics.fmean(ap)
        std = statistics.stdev(ap) if len(ap) > 1 else 0.0
        spread = f'± {std:.2f}' if len(ap) > 1 else '(1 seed)'
        paired = '-'
        if sup is not None and r is not sup and len(sup.mious) == len(
                r.mious):
            gains = [100 * (a - b) for a, b in zip(r.mious, sup.mious)]
            paired = (f'{statistics.fmean(gains):+.2f} (' +
                      ' / '.join(f'{g:+.1f}' for g in gains) + ')')
        val = (f'{100 * statistics.fmean(r.val_mious):.2f}'
               if r.val_mious else '-')
        lines.append(f'| {r.entry.name} | `{r.entry.config}` | {mean:.2f} '
                     f'{spread} | {" / ".join(f"{v:.1f}" for v in ap)} | '
                     f'{paired} | {val} | {r.minutes:.1f} |')
    return '\n'.join(lines)
