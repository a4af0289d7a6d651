"""GTA5 and SYNTHIA on miniature copies of their real layouts: raw ids mapped
to the target's classes, their file checks, source/target pairing errors,
the 13-class mIoU, and the source class statistics tool."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

from real_layouts import write_cityscapes, write_gta5, write_synthia
from semiseg_mm.datasets import (SYNTHIA_CLASSES, SYNTHIA_CLASSES_13,
                                 DatasetError, label_lut)
from semiseg_mm.datasets.checks import full_scan, label_rule
from semiseg_mm.datasets.uda_datasets import GTA5_TO_TRAIN_ID, SYNTHIA_TO_16
from semiseg_mm.registry import DATASETS, METRICS

LOAD = [dict(type='LoadImageFromFile'), dict(type='LoadMappedAnnotations'),
        dict(type='PackSegInputs')]


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    r = str(tmp_path_factory.mktemp('uda_layouts'))
    write_gta5(r)
    write_synthia(r)
    write_cityscapes(r)
    return r


def gta5(root, pipeline=LOAD, **kw):
    return DATASETS.build(
        dict(type='GTA5Dataset', data_root=osp.join(root, 'data/gta5'),
             data_prefix=dict(img_path='images', seg_map_path='labels'),
             pipeline=pipeline, **kw))


def synthia(root, pipeline=LOAD, **kw):
    return DATASETS.build(
        dict(type='SynthiaDataset', data_root=osp.join(root, 'data/synthia'),
             data_prefix=dict(img_path='RGB', seg_map_path='GT/LABELS'),
             pipeline=pipeline, **kw))


def cityscapes(root, **kw):
    return dict(type='CityscapesSplitDataset',
                data_root=osp.join(root, 'data/cityscapes'),
                data_prefix=dict(img_path='leftImg8bit/train'),
                with_label=False, pipeline=[], **kw)


def test_lookup_tables():
    gta = label_lut('gta5')
    assert len(gta) == 256
    # Cityscapes label ids -> train ids: road 7 -> 0, car 26 -> 13,
    # bicycle 33 -> 18; unlabelled 0, ego vehicle 1, license plate... 255
    assert (gta[7], gta[26], gta[33]) == (0, 13, 18)
    assert gta[0] == gta[1] == gta[34] == gta[255] == 255
    assert sorted(GTA5_TO_TRAIN_ID.values()) == list(range(19))
    syn = label_lut('synthia16')
    assert len(syn) == 65536
    # SYNTHIA: 3 road -> 0, 1 sky -> 9, 11 bicycle -> 15; terrain 16,
    # truck 18, train 20, lane marking 22 and void 0 are not classes
    assert (syn[3], syn[1], syn[11]) == (0, 9, 15)
    assert all(syn[i] == 255 for i in (0, 16, 18, 20, 22, 1000))
    assert sorted(SYNTHIA_TO_16.values()) == list(range(16))
    assert len(SYNTHIA_CLASSES) == 16 and len(SYNTHIA_CLASSES_13) == 13
    with pytest.raises(KeyError, match='unknown label id map'):
        label_lut('gta6')


def test_gta5_maps_label_ids_to_train_ids(root):
    ds = gta5(root)
    assert len(ds) == 3 and ds.metainfo['classes'][0] == 'road'
    sample = ds[0]['data_samples']
    got = sample.gt_sem_seg.data[0].numpy()
    raw = np.asarray(Image.open(ds.get_data_info(0)['seg_map_path']))
    assert got.shape == raw.shape == (1052, 1914)
    assert np.array_equal(got, label_lut('gta5')[raw])
    assert set(np.unique(got)) <= set(range(19)) | {255}
    # the raw ids would reach the loss with plain LoadAnnotations: refused
    with pytest.raises(DatasetError,
                       match=r"GTA5Dataset: pipeline\[1\] is LoadAnnotations"
                       r", which would load the raw gta5 label ids; use "
                       r"dict\(type='LoadMappedAnnotations'\)"):
        gta5(root, pipeline=[dict(type='LoadImageFromFile'),
                             dict(type='LoadAnnotations')])
    # a full scan checks the values as the loss sees them (mapped)
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert full_scan('gta5', infos, label_rule(ds), images=False).ok


def test_synthia_reads_the_class_channel_of_16_bit_labels(root):
    ds = synthia(root, verify=True)  # the full scan passes at build time
    sample = ds[1]['data_samples']
    got = sample.gt_sem_seg.data[0].numpy()
    raw = cv2.imread(ds.get_data_info(1)['seg_map_path'],
                     cv2.IMREAD_UNCHANGED)
    assert raw.dtype == np.uint16 and raw.shape == (760, 1280, 3)
    assert raw[..., 1].max() > 255  # the instance channel is not read
    assert np.array_equal(got, label_lut('synthia16')[raw[..., 2]])
    assert ds.metainfo['classes'] == SYNTHIA_CLASSES
    # a one-channel mask where a SYNTHIA label is expected
    bad = osp.join(root, 'data/synthia_bad')
    os.makedirs(osp.join(bad, 'RGB'))
    os.makedirs(osp.join(bad, 'GT', 'LABELS'))
    cv2.imwrite(osp.join(bad, 'RGB', '0000000.png'),
                np.zeros((8, 8, 3), np.uint8))
    cv2.imwrite(osp.join(bad, 'GT', 'LABELS', '0000000.png'),
                np.zeros((8, 8), np.uint8))
    with pytest.raises(DatasetError, match='expected a multi-channel label'):
        DATASETS.build(
            dict(type='SynthiaDataset', data_root=bad, verify=True,
                 data_prefix=dict(img_path='RGB', seg_map_path='GT/LABELS'),
                 pipeline=LOAD))


def test_source_target_pairing_errors(root, tmp_path):
    src = dict(type='SynthiaDataset', data_root=osp.join(root, 'data/synthia'),
               data_prefix=dict(img_path='RGB', seg_map_path='GT/LABELS'),
               pipeline=LOAD)
    # the Cityscapes side with SYNTHIA's 16 classes pairs
    uda = DATASETS.build(dict(
        type='UDADataset', source=src,
        target=cityscapes(root, metainfo=dict(classes=SYNTHIA_CLASSES))))
    assert len(uda.source) == 3 and len(uda.target) == 4
    # with its own 19 classes it does not
    with pytest.raises(DatasetError, match='UDADataset: source and target '
                       'sets disagree on classes'):
        DATASETS.build(dict(type='UDADataset', source=src,
                            target=cityscapes(root)))
    empty = tmp_path / 'empty_target' / 'leftImg8bit' / 'train'
    empty.mkdir(parents=True)
    with pytest.raises(DatasetError, match='yields no images|is empty'):
        DATASETS.build(dict(
            type='UDADataset', source=src,
            target=dict(cityscapes(root), data_root=str(empty.parents[1]),
                        metainfo=dict(classes=SYNTHIA_CLASSES))))


def test_class_subset_metric():
    metric = METRICS.build(dict(type='ClassSubsetIoUMetric',
                                iou_metrics=['mIoU'],
                                subsets=dict(mIoU2=['b', 'c'])))
    metric.dataset_meta = dict(classes=['a', 'b', 'c'])
    # per-class IoU: a 1/2, b 1/4, c 1
    inter = torch.tensor([1., 1., 2.])
    union = torch.tensor([2., 4., 2.])
    results = [(inter, union, union, union)]
    out = metric.compute_metrics(results)
    assert out['mIoU'] == pytest.approx(round(100 * (0.5 + 0.25 + 1) / 3, 2))
    assert out['mIoU2'] == pytest.approx(62.5)
    metric.subsets = dict(bad=['z'])
    with pytest.raises(ValueError, match=r"names \['z'\], which are not"):
        metric.compute_metrics(results)
    with pytest.raises(ValueError, match="include 'mIoU'"):
        METRICS.build(dict(type='ClassSubsetIoUMetric', iou_metrics=['mDice'],
                           subsets=dict(x=['a'])))


def test_source_class_stats_tool(root, tmp_path, monkeypatch):
    import sys
    from helpers import REPO
    sys.path.insert(0, osp.join(REPO, 'tools'))
    import source_class_stats
    cfg = Config.fromfile(
        osp.join(REPO, 'configs/_base_/datasets/uda_gta2cityscapes.py'))
    cfg.default_scope = 'semiseg_mm'
    cfg_file = tmp_path / 'cfg.py'
    cfg.dump(str(cfg_file))
    monkeypatch.chdir(root)
    out = tmp_path / 'stats.json'
    source_class_stats.main([str(cfg_file), '--out', str(out)])
    stats = json.loads(out.read_text())
    assert stats['num_images'] == 3 and len(stats['ratio']) == 19
    assert sum(stats['ratio']) == pytest.approx(1.0)
    # counted after the id mapping: the pixels of train classes only
    ds = gta5(root)
    counts = np.zeros(19, np.int64)
    for i in range(3):
        raw = np.asarray(Image.open(ds.get_data_info(i)['seg_map_path']))
        mapped = label_lut('gta5')[raw]
        counts += np.bincount(mapped[mapped != 255], minlength=19)
    assert stats['pixel_counts'] == counts.tolist()
