"""Bad dataset input stops with an error naming the file/key."""
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest

from semiseg_mm.datasets import DatasetError, SyntheticShapesDataset

PIPE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]


def build(root, **kw):
    kw.setdefault(
        'data_prefix',
        dict(img_path='img_dir/train', seg_map_path='ann_dir/train'))
    return SyntheticShapesDataset(data_root=root, pipeline=PIPE, **kw)


def test_good_dataset_loads(synthetic_root):
    ds = build(synthetic_root, ann_file='splits/1-16_seed0/labeled.txt')
    assert len(ds) == 2  # ceil(32 / 16)
    sample = ds[0]
    assert sample['data_samples'].gt_sem_seg.data.shape[-2:] == (64, 64)
    assert len(build(synthetic_root)) == 32


def test_missing_dataset_folder(tmp_path):
    with pytest.raises(DatasetError, match=r"data_root=.*nowhere.*does not "
                       "exist"):
        build(str(tmp_path / 'nowhere'))


def test_missing_image_folder(synthetic_root):
    with pytest.raises(DatasetError, match=r'data_prefix.img_path=.*img_dir/'
                       r'tarin'):
        build(synthetic_root, data_prefix=dict(img_path='img_dir/tarin'))


def test_missing_split_file(synthetic_root):
    with pytest.raises(DatasetError,
                       match=r"ann_file=.*splits/1-32_seed0/labeled.txt.* "
                       'does not exist'):
        build(synthetic_root, ann_file='splits/1-32_seed0/labeled.txt')


def test_split_id_without_image(synthetic_root, tmp_path):
    split = tmp_path / 'split.txt'
    split.write_text('00000\n00001\nmissing_0042\n')
    with pytest.raises(DatasetError, match=r"1 id\(s\) of split file .*"
                       'split.txt.* have no image.*missing_0042'):
        build(synthetic_root, ann_file=str(split))


def test_split_id_without_mask(synthetic_root, tmp_path):
    root = tmp_path / 'copy'
    shutil.copytree(synthetic_root, root)
    (root / 'ann_dir/train/00003.png').unlink()
    with pytest.raises(DatasetError, match=r'have no mask.*00003.png'):
        build(str(root))
    # unlabelled use needs no masks at all
    assert len(build(str(root), with_label=False)) == 32


def test_mask_values_out_of_range(synthetic_root, tmp_path):
    root = tmp_path / 'bad'
    shutil.copytree(synthetic_root, root)
    bad = osp.join(root, 'ann_dir/train/00001.png')
    seg = cv2.imread(bad, cv2.IMREAD_UNCHANGED)
    seg[0, :3] = [7, 9, 255]  # 7 and 9 invalid, 255 is the ignore index
    cv2.imwrite(bad, seg)
    ds = build(str(root))
    ds[0]  # a good sample passes
    with pytest.raises(DatasetError, match=r"00001.png.*\[7, 9\].*\[0, 6\)"):
        ds[1]


def test_split_by_fraction_matches_split_file(synthetic_root):
    by_file = build(synthetic_root, ann_file='splits/1-4_seed0/labeled.txt')
    by_cfg = build(
        synthetic_root, split=dict(fraction=0.25, seed=0, subset='labeled'))
    rest = build(
        synthetic_root, split=dict(fraction=0.25, seed=0, subset='unlabeled'),
        with_label=False)
    def paths(d):
        return [d.get_data_info(i)['img_path'] for i in range(len(d))]

    assert paths(by_file) == paths(by_cfg)
    assert len(rest) == 24 and not set(paths(rest)) & set(paths(by_cfg))
    assert 'seg_map_path' not in rest.get_data_info(0)
    with pytest.raises(DatasetError, match='exactly one of fraction'):
        build(synthetic_root, split=dict(seed=0))
    with pytest.raises(DatasetError, match='not both'):
        build(
            synthetic_root,
            ann_file='splits/1-4_seed0/labeled.txt',
            split=dict(fraction=0.25))
