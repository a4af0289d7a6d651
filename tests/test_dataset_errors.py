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


# ---------------------------------------------------------------------- #
# checks added for the fail-fast issue: each case used to train silently or
# fail late with an error naming no file
# ---------------------------------------------------------------------- #
def copy_root(synthetic_root, tmp_path, name='copy'):
    root = tmp_path / name
    shutil.copytree(synthetic_root, root)
    return root


def test_mask_of_another_size_stops_at_build(synthetic_root, tmp_path):
    root = copy_root(synthetic_root, tmp_path)
    mask = root / 'ann_dir/train/00002.png'
    seg = cv2.imread(str(mask), cv2.IMREAD_UNCHANGED)
    cv2.imwrite(str(mask), seg[:48, :48])
    with pytest.raises(DatasetError,
                       match=r'1 mask\(s\) of another size than their image:'
                       r'.*00002.png is 48x48, .*00002.png is 64x64'):
        build(str(root))


def test_three_channel_mask_stops_at_build(synthetic_root, tmp_path):
    root = copy_root(synthetic_root, tmp_path)
    mask = root / 'ann_dir/train/00004.png'
    seg = cv2.imread(str(mask), cv2.IMREAD_UNCHANGED)
    cv2.imwrite(str(mask), np.stack([seg] * 3, -1))  # index values x3
    with pytest.raises(DatasetError,
                       match=r'mask\(s\) with several channels: .*00004.png: '
                       'mode RGB'):
        build(str(root))


def test_sample_check_catches_what_the_quick_check_was_told_to_skip(
        synthetic_root, tmp_path):
    root = copy_root(synthetic_root, tmp_path)
    mask = root / 'ann_dir/train/00000.png'
    seg = cv2.imread(str(mask), cv2.IMREAD_UNCHANGED)
    cv2.imwrite(str(mask), seg[:40])
    ds = build(str(root), quick_check=False)
    with pytest.raises(DatasetError,
                       match=r"00000.png' comes out of the pipeline with "
                       r'shape \(1, 40, 64\) for an image of \(64, 64\)'):
        ds[0]


def truncate(path, keep=0.6):
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])


def test_truncated_unlabelled_image_stops_at_build(synthetic_root, tmp_path):
    from semiseg_mm.datasets import SemiDataset
    root = copy_root(synthetic_root, tmp_path)
    truncate(root / 'img_dir/train/00020.png')
    labeled = dict(
        type='SyntheticShapesDataset', data_root=str(root),
        data_prefix=dict(img_path='img_dir/train',
                         seg_map_path='ann_dir/train'),
        ann_file='splits/1-16_seed0/labeled.txt', pipeline=PIPE)
    unlabeled = dict(
        type='SyntheticShapesDataset', data_root=str(root),
        data_prefix=dict(img_path='img_dir/train'),
        ann_file='splits/1-16_seed0/unlabeled.txt', with_label=False,
        pipeline=[dict(type='LoadImageFromFile')])
    with pytest.raises(DatasetError, match=r'unreadable image\(s\): .*'
                       r'00020.png: (truncated PNG|not a readable image)'):
        SemiDataset(labeled=labeled, unlabeled=unlabeled)


def test_duplicate_split_ids_are_refused_with_their_count(synthetic_root,
                                                          tmp_path):
    split = tmp_path / 'dup.txt'
    split.write_text('00000\n00001\n00000\n00002\n00001\n00000\n')
    with pytest.raises(DatasetError,
                       match=r"dup.txt' lists 3 duplicate id\(s\) \(6 lines, "
                       r"3 distinct ids\), e.g. \['00000', '00001'\]"):
        build(synthetic_root, ann_file=str(split))


@pytest.mark.parametrize('split,msg', [
    (dict(fraction=0), r'split.fraction must be a number in \(0, 1\]'),
    (dict(fraction=1.5), r'split.fraction must be a number in \(0, 1\]'),
    (dict(count=0), 'split.count must be a whole number >= 1'),
    (dict(count=33), r'cannot draw 33 labelled images from 32'),
])
def test_bad_split_settings_name_the_key_and_dataset(synthetic_root, split,
                                                     msg):
    with pytest.raises(DatasetError,
                       match=r'SyntheticShapesDataset: split=.*' + msg):
        build(synthetic_root, split=split)


def test_overlap_found_through_a_relative_data_root(synthetic_root,
                                                    tmp_path, monkeypatch):
    from semiseg_mm.datasets import SemiDataset
    monkeypatch.chdir(osp.dirname(synthetic_root))
    common = dict(type='SyntheticShapesDataset', pipeline=PIPE,
                  ann_file='splits/1-16_seed0/labeled.txt')
    labeled = dict(common, data_root=synthetic_root,
                   data_prefix=dict(img_path='img_dir/train',
                                    seg_map_path='ann_dir/train'))
    unlabeled = dict(common, data_root=osp.basename(synthetic_root) + '/',
                     data_prefix=dict(img_path='img_dir/train'),
                     with_label=False)
    with pytest.raises(DatasetError,
                       match=r'2 id\(s\) are both labelled'):
        SemiDataset(labeled=labeled, unlabeled=unlabeled)


def test_verify_scans_every_mask_value_at_build(synthetic_root, tmp_path):
    root = copy_root(synthetic_root, tmp_path)
    mask = root / 'ann_dir/train/00031.png'
    seg = cv2.imread(str(mask), cv2.IMREAD_UNCHANGED)
    seg[5, 5] = 17
    cv2.imwrite(str(mask), seg)
    assert len(build(str(root))) == 32  # the quick check reads no pixels
    with pytest.raises(DatasetError,
                       match=r'mask\(s\) with values outside .*00031.png: '
                       r'\[17\]'):
        build(str(root), verify=True)


def test_check_dataset_tool_lists_every_problem(synthetic_root, tmp_path,
                                                repo_root):
    import subprocess
    import sys
    root = copy_root(synthetic_root, tmp_path)
    truncate(root / 'img_dir/train/00010.png')
    seg = cv2.imread(str(root / 'ann_dir/val/00001.png'),
                     cv2.IMREAD_UNCHANGED)
    seg[0, 0] = 9
    cv2.imwrite(str(root / 'ann_dir/val/00001.png'), seg)
    seg = cv2.imread(str(root / 'ann_dir/train/00003.png'),
                     cv2.IMREAD_UNCHANGED)
    cv2.imwrite(str(root / 'ann_dir/train/00003.png'), seg[:, :50])
    cfg = osp.join(repo_root, 'configs/supervised/dilatedconvnet_synthetic_'
                   'full.py')
    r = subprocess.run([
        sys.executable, osp.join(repo_root, 'tools/check_dataset.py'), cfg,
        '--cfg-options', f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}'
    ], capture_output=True, text=True)
    assert r.returncode == 1, r.stdout + r.stderr
    assert 'train_dataloader.dataset SyntheticShapesDataset' in r.stdout
    assert 'FAILED' in r.stdout
    assert "test_dataloader.dataset SyntheticShapesDataset('img_dir/test')" \
        in r.stdout
    assert '00010.png: truncated PNG' in r.stderr
    assert "00003.png is 50x64" in r.stderr
    assert 'val/00001.png: [9]' in r.stderr
    quick = subprocess.run(r.args + ['--quick'], capture_output=True,
                           text=True)
    assert quick.returncode == 1
    assert '00010.png: truncated PNG' in quick.stderr
    assert '00003.png is 50x64' in quick.stderr
    assert 'val/00001.png' not in quick.stderr  # values need decoding
    clean = subprocess.run([
        sys.executable, osp.join(repo_root, 'tools/check_dataset.py'), cfg,
        '--cfg-options', f'train_dataloader.dataset.data_root='
        f'{synthetic_root}', f'val_dataloader.dataset.data_root='
        f'{synthetic_root}', f'test_dataloader.dataset.data_root='
        f'{synthetic_root}'
    ], capture_output=True, text=True)
    assert clean.returncode == 0, clean.stderr
    assert ': ok' in clean.stdout
