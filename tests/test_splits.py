import os.path as osp
import subprocess
import sys

import pytest

from semiseg_mm.datasets.splits import (check_disjoint, fraction_name,
                                        id_from_entry, num_labeled, read_ids,
                                        split_ids)


@pytest.mark.parametrize('total,frac,expected', [
    (10582, 1 / 16, 662), (10582, 1 / 8, 1323), (10582, 1 / 4, 2646),
    (10582, 1 / 2, 5291), (2975, 1 / 16, 186), (2975, 1 / 8, 372),
    (2975, 1 / 4, 744), (2975, 1 / 2, 1488), (1600, 1 / 16, 100)
])
def test_split_sizes_match_published_splits(total, frac, expected):
    assert num_labeled(total, fraction=frac) == expected


def test_split_ids_deterministic_and_seeded():
    ids = [f'{i:04d}' for i in range(100)]
    a = split_ids(ids, fraction=0.25, seed=0)
    assert a == split_ids(list(reversed(ids)), fraction=0.25, seed=0)
    assert a != split_ids(ids, fraction=0.25, seed=1)
    assert len(a) == 25 and a == sorted(a) and set(a) <= set(ids)
    assert len(split_ids(ids, count=7, seed=0)) == 7
    with pytest.raises(ValueError, match='exactly one'):
        split_ids(ids, fraction=0.5, count=3)
    with pytest.raises(ValueError, match='cannot draw'):
        split_ids(ids, count=101)


def test_fraction_name():
    assert fraction_name(1 / 16) == '1-16'
    assert fraction_name(0.3) == '0.3'


def test_id_from_published_entries():
    assert id_from_entry('JPEGImages/2007_000032.jpg '
                         'SegmentationClass/2007_000032.png',
                         'JPEGImages/', '.jpg') == '2007_000032'
    assert id_from_entry(
        'leftImg8bit/train/aachen/aachen_000000_000019_leftImg8bit.png '
        'gtFine/train/aachen/aachen_000000_000019_gtFine_labelTrainIds.png',
        'leftImg8bit/train/', '_leftImg8bit.png'
    ) == 'aachen/aachen_000000_000019'
    assert id_from_entry('2007_000032') == '2007_000032'


def test_check_disjoint():
    check_disjoint(['a', 'b'], ['c'], 'l.txt', 'u.txt')
    with pytest.raises(ValueError, match="both labelled .*'b'"):
        check_disjoint(['a', 'b'], ['b', 'c'], 'l.txt', 'u.txt')


def _run(repo_root, *args):
    return subprocess.run(
        [sys.executable, osp.join(repo_root, 'tools/make_splits.py'), *args],
        capture_output=True,
        text=True)


def test_make_splits_tool(tmp_path, repo_root):
    root = tmp_path / 'ds'
    (root / 'JPEGImages').mkdir(parents=True)
    for i in range(20):
        (root / 'JPEGImages' / f'2007_{i:06d}.jpg').write_bytes(b'x')
    out = tmp_path / 'splits'
    r = _run(repo_root, str(root), '--img-dir', 'JPEGImages', '--img-suffix',
             '.jpg', '--fractions', '1/4', '--counts', '3', '--seeds', '0',
             '1', '--out', str(out), '--no-progress')
    assert r.returncode == 0, r.stderr
    lab = read_ids(str(out / '1-4_seed0' / 'labeled.txt'))
    unl = read_ids(str(out / '1-4_seed0' / 'unlabeled.txt'))
    assert len(lab) == 5 and len(unl) == 15 and not set(lab) & set(unl)
    assert len(read_ids(str(out / '3_seed1' / 'labeled.txt'))) == 3

    # import UniMatch-style lists
    pub = tmp_path / 'pub'
    pub.mkdir()
    (pub / 'labeled.txt').write_text(
        'JPEGImages/2007_000001.jpg SegmentationClass/2007_000001.png\n'
        'JPEGImages/2007_000002.jpg SegmentationClass/2007_000002.png\n')
    r = _run(repo_root, str(root), '--img-dir', 'JPEGImages', '--format',
             'voc', '--import-labeled', str(pub / 'labeled.txt'), '--out',
             str(out / 'imported'), '--no-progress')
    assert r.returncode == 0, r.stderr
    assert read_ids(str(out / 'imported' / 'labeled.txt')) == [
        '2007_000001', '2007_000002'
    ]
    assert len(read_ids(str(out / 'imported' / 'unlabeled.txt'))) == 18

    # overlapping published lists are refused
    (pub / 'unlabeled.txt').write_text('JPEGImages/2007_000002.jpg\n')
    r = _run(repo_root, str(root), '--img-dir', 'JPEGImages', '--format',
             'voc', '--import-labeled', str(pub / 'labeled.txt'),
             '--import-unlabeled', str(pub / 'unlabeled.txt'), '--out',
             str(out / 'bad'), '--no-progress')
    assert r.returncode != 0 and '2007_000002' in r.stderr

    # ids without image and missing folders are named
    (pub / 'ghost.txt').write_text('JPEGImages/2099_000001.jpg\n')
    r = _run(repo_root, str(root), '--img-dir', 'JPEGImages', '--format',
             'voc', '--import-labeled', str(pub / 'ghost.txt'), '--out',
             str(out / 'bad2'), '--no-progress')
    assert r.returncode != 0 and '2099_000001' in r.stderr
    r = _run(repo_root, str(tmp_path / 'nope'), '--fractions', '1/2',
             '--out', str(out / 'x'))
    assert r.returncode != 0 and 'does not exist' in r.stderr
