"""Every tool parses its arguments before importing the heavy stack, so a
usage error answers at once; make_splits warns about empty unlabelled sets
and drops duplicate imported ids with a count."""
import glob
import os.path as osp
import subprocess
import sys

import pytest

from helpers import REPO

TOOLS = sorted(
    osp.relpath(p, REPO)
    for p in glob.glob(osp.join(REPO, 'tools', '**', '*.py'), recursive=True))

# Runs the tool as `python TOOL --no-such-flag` would, then reports which
# heavy modules the failed parse had imported.
PROBE = '''
import runpy, sys
sys.argv = [sys.argv[1], '--no-such-flag']
sys.path.insert(0, __import__('os').path.dirname(sys.argv[0]))
try:
    runpy.run_path(sys.argv[0], run_name='__main__')
except SystemExit as e:
    code = e.code
else:
    code = 0
heavy = [m for m in ('torch', 'mmengine', 'mmseg', 'mmdet', 'semiseg_mm',
                     'cv2') if m in sys.modules]
print('EXIT', code, 'HEAVY', ','.join(heavy))
'''


def test_tool_list():
    assert 'tools/train.py' in TOOLS and 'tools/check_dataset.py' in TOOLS


@pytest.mark.parametrize('tool', TOOLS)
def test_usage_error_before_heavy_imports(tool):
    r = subprocess.run([sys.executable, '-c', PROBE, osp.join(REPO, tool)],
                       capture_output=True, text=True, cwd=REPO)
    last = r.stdout.strip().splitlines()[-1]
    assert last.startswith('EXIT 2 HEAVY'), (last, r.stderr[-1000:])
    assert last == 'EXIT 2 HEAVY', f'{tool} imported {last.split()[-1]} ' \
        'before parsing its arguments'
    assert 'usage:' in r.stderr and 'error:' in r.stderr


def test_cfg_options_need_key_value_pairs():
    r = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools/train.py'), 'cfg.py', '--cfg-options',
        'train_cfg.max_iters'
    ], capture_output=True, text=True)
    assert r.returncode == 2
    assert "takes KEY=VALUE pairs, got ['train_cfg.max_iters']" in r.stderr


def test_parsed_cfg_options_match_mmengine():
    from semiseg_mm.utils.launch import parse_cfg_options
    assert parse_cfg_options(['a.b=1', 'c=[1,2]', 'd=x']) == {
        'a.b': 1, 'c': [1, 2], 'd': 'x'}
    assert parse_cfg_options(None) is None


def test_published_formats_listed_by_make_splits():
    sys.path.insert(0, osp.join(REPO, 'tools'))
    import make_splits
    from semiseg_mm.datasets.splits import PUBLISHED_FORMATS
    assert tuple(sorted(PUBLISHED_FORMATS)) == make_splits.FORMATS


def make_splits(*args):
    return subprocess.run(
        [sys.executable, osp.join(REPO, 'tools/make_splits.py'), *args,
         '--no-progress'], capture_output=True, text=True)


@pytest.fixture
def image_folder(tmp_path):
    root = tmp_path / 'ds'
    (root / 'JPEGImages').mkdir(parents=True)
    for i in range(6):
        (root / 'JPEGImages' / f'2007_{i:06d}.jpg').write_bytes(b'x')
    return root


def test_make_splits_warns_when_nothing_is_left_unlabelled(
        image_folder, tmp_path):
    r = make_splits(str(image_folder), '--img-dir', 'JPEGImages',
                    '--img-suffix', '.jpg', '--counts', '6', '2', '--out',
                    str(tmp_path / 'out'))
    assert r.returncode == 0, r.stderr
    assert '6_seed0: 6 labelled, 0 unlabelled' in r.stdout
    assert r.stderr.count('warning') == 1
    assert '6_seed0: every image is labelled, unlabeled.txt is empty' in \
        r.stderr


def test_make_splits_drops_duplicate_imported_ids(image_folder, tmp_path):
    pub = tmp_path / 'labeled.txt'
    pub.write_text('JPEGImages/2007_000001.jpg\nJPEGImages/2007_000002.jpg\n'
                   'JPEGImages/2007_000001.jpg\n')
    out = tmp_path / 'imported'
    r = make_splits(str(image_folder), '--img-dir', 'JPEGImages', '--format',
                    'voc', '--import-labeled', str(pub), '--out', str(out))
    assert r.returncode == 0, r.stderr
    assert '1 duplicate line(s) dropped (3 lines, 2 distinct ids), e.g. ' \
        "['2007_000001']" in r.stderr
    assert (out / 'labeled.txt').read_text().split() == [
        '2007_000001', '2007_000002']
    assert '2 labelled, 4 unlabelled' in r.stdout
