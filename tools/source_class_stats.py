"""Class frequencies of a source dataset's labels, for ADVENT's class-ratio
prior (``uda_cfg.class_prior.file``).

  python tools/source_class_stats.py CONFIG --out data/gta5_class_stats.json
      [--max-images N] [--dataset-key train_dataloader.dataset.source]

Reads the labelled source set of CONFIG's training data (for a
``UDADataset`` its ``source``; otherwise the training dataset itself) with
the config's own ``LoadAnnotations`` settings (so GTA5's label ids are
mapped to train ids as in training), counts every class's pixels (the
ignore index excluded) and writes JSON::

    {"dataset": ..., "classes": [...], "num_images": N,
     "pixel_counts": [...], "ratio": [...]}   # ratio sums to 1

``--max-images`` reads an evenly spaced subset (an estimate, in seconds,
for a large set such as GTA5's 24,966 images).
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('--out', required=True, help='JSON file to write')
    p.add_argument('--dataset-key', default=None,
                   help='dotted config key of the dataset (default: '
                   'train_dataloader.dataset, its .source for a UDADataset)')
    p.add_argument('--max-images', type=int, default=None)
    return p.parse_args(argv)


def _lookup(cfg, key: str):
    node = cfg
    for part in key.split('.'):
        if not isinstance(node, dict) or part not in node:
            raise SystemExit(f'{key}: the config has no {part!r} there')
        node = node[part]
    return node


def source_dataset_cfg(cfg, key=None) -> dict:
    """The source dataset's config, its pipeline reduced to the label
    loader."""
    if key is None:
        ds = cfg.train_dataloader.dataset
        if ds.get('type') == 'UDADataset':
            ds, key = ds.source, 'train_dataloader.dataset.source'
        else:
            key = 'train_dataloader.dataset'
    else:
        ds = _lookup(cfg, key)
    ds = copy.deepcopy(ds)
    loaders = [t for t in ds.get('pipeline', [])
               if str(t.get('type', '')).split('.')[-1] in (
                   'LoadAnnotations', 'LoadMappedAnnotations')]
    if not loaders:
        raise SystemExit(f'{key}.pipeline has no LoadAnnotations: it is not '
                         'a labelled set')
    ds['pipeline'] = [loaders[0]]
    ds['quick_check'] = False
    return ds, key


def count_classes(dataset, num_classes: int, ignore_index: int = 255,
                  max_images=None):
    import numpy as np
    n = len(dataset)
    idx = range(n) if not max_images or max_images >= n else np.linspace(
        0, n - 1, max_images).round().astype(int)
    counts = np.zeros(num_classes, dtype=np.int64)
    for i in idx:
        seg = np.asarray(dataset[int(i)]['gt_seg_map'])
        vals = seg[seg != ignore_index].astype(np.int64)
        if vals.size and (vals.min() < 0 or vals.max() >= num_classes):
            bad = sorted(set(np.unique(vals)) - set(range(num_classes)))
            raise SystemExit(
                f"{dataset.get_data_info(int(i))['seg_map_path']}: label "
                f'values {bad[:5]} outside [0, {num_classes}) and not the '
                f'ignore index {ignore_index}')
        counts += np.bincount(vals, minlength=num_classes)
    return counts, len(idx)


def main(argv=None):
    args = parse_args(argv)
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import semiseg_mm  # noqa: F401
    from semiseg_mm.registry import DATASETS
    cfg = Config.fromfile(args.config)
    init_default_scope('semiseg_mm')
    ds_cfg, key = source_dataset_cfg(cfg, args.dataset_key)
    dataset = DATASETS.build(ds_cfg)
    classes = list(dataset.metainfo['classes'])
    counts, n = count_classes(dataset, len(classes),
                              getattr(dataset, 'ignore_index', 255),
                              args.max_images)
    total = int(counts.sum())
    if total == 0:
        raise SystemExit(f'{key}: no labelled pixels in {n} images')
    stats = dict(
        dataset=f"{ds_cfg['type']} ({ds_cfg.get('data_root')})",
        config=args.config,
        classes=classes,
        num_images=n,
        pixel_counts=[int(c) for c in counts],
        ratio=[float(c) / total for c in counts])
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(stats, f, indent=1)
    print(f'{n} images, {total} labelled pixels -> {args.out}')
    for name, r in zip(classes, stats['ratio']):
        print(f'  {name:>16s} {r:.4f}')


if __name__ == '__main__':
    sys.exit(main())
