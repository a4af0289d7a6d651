"""make demo: its preset builds, its table reads the recorded benchmark, and
the whole demo (table, picture, plot) runs on a tiny schedule. (Its timing
and ranking belong to the benchmark: docs/benchmarks.md.)"""
import os.path as osp
import subprocess
import sys

from helpers import REPO
from semiseg_mm.benchmark import demo
from semiseg_mm.benchmark import label_efficiency as le
from semiseg_mm.utils.config import config_root


def test_uda_demo_preset_rows_are_domain_adaptation_rows():
    from semiseg_mm.benchmark import domain_adaptation as da
    rows = demo.UDA_DEMO.rows
    assert demo.UDA_DEMO.method in rows
    assert {da.ENTRIES[k].role for k in rows} == {'sup_low', 'sup_full',
                                                  'method'}


def test_demo_preset_rows_build_their_run_configs(tmp_path):
    assert demo.DEMO.method in demo.DEMO.rows
    roles = {le.ENTRIES[k].role for k in demo.DEMO.rows}
    assert roles == {'sup_low', 'sup_full', 'method'}
    from semiseg_mm.datasets.synthetic import SEG_STYLES
    size = SEG_STYLES[demo.DEMO.style].style.size
    for key in demo.DEMO.rows:
        entry = le.ENTRIES[key]
        cfg = le.make_run_config(entry, demo.DEMO.seed, config_root(),
                                 demo.DEMO.max_iters, str(tmp_path),
                                 input_size=(size, size))
        assert cfg.train_cfg.max_iters == (
            demo.DEMO.max_iters or le.config_iters(entry, config_root()))


def test_recorded_rows_and_ranking(tmp_path):
    doc = tmp_path / 'b.md'
    doc.write_text(
        'x\n<!-- label-efficiency-full:start -->\nheader\n\n'
        '| method | config | test mIoU (mean ± std) | per seed | gap closed |'
        ' val mIoU | min/run |\n|---|---|---|---|---|---|---|\n'
        '| FixMatch, 1/16 | `fixmatch/a.py` | 64.40 ± 0.09 | 64.3 | 49 % | 1 |'
        ' 2 |\n| GCT, 1/16 | `gct/b.py` | 56.67 ± 1.85 | 58.8 | 0 % | 1 | 2 |'
        '\n<!-- label-efficiency-full:end -->\n')
    rows = demo.recorded_rows(str(doc), skip=['fixmatch/a.py'])
    assert [(r.name, r.config, r.mean, r.gap) for r in rows] == [
        ('GCT, 1/16', 'gct/b.py', '56.67 ± 1.85', '0 %')]
    assert demo.recorded_rows(str(tmp_path / 'missing.md')) == []
    # the repository's own table parses
    assert demo.recorded_rows(osp.join(REPO, 'docs', 'benchmarks.md'))
    # and every further block make demo lists has rows
    for marker, _, _ in demo.RECORDED_BLOCKS:
        assert demo.recorded_rows(osp.join(REPO, 'docs', 'benchmarks.md'),
                                  marker=marker), marker
    uda = demo.recorded_rows(osp.join(REPO, 'docs', 'benchmarks.md'),
                             marker='domain-adaptation-full')
    by_config = {r.config: r for r in uda}
    assert by_config['dacs/dilatedconvnet_synthetic-uda_dacs.py'].gap.endswith(
        '%')
    assert 'supervised/dilatedconvnet_synthetic-uda_source-only.py' in \
        by_config
    row = le.Row
    low, full = le.ENTRIES['sup_1-16'], le.ENTRIES['sup_full']
    fm = le.ENTRIES['fixmatch']
    assert demo.ranking_holds([row(low, [50.], 1), row(full, [70.], 1),
                               row(fm, [60.], 1)])
    assert not demo.ranking_holds([row(low, [50.], 1), row(full, [70.], 1),
                                   row(fm, [49.], 1)])
    assert demo.ranking_holds([row(low, [50.], 1)]) is None


def test_demo_runs_end_to_end_on_a_tiny_schedule(synthetic_root, tmp_path):
    from semiseg_mm.datasets.synthetic import make_domain_pair
    uda = str(tmp_path / 'uda')
    make_domain_pair(uda, num_source=8, num_target=8, num_target_val=4,
                     num_target_test=4, progress=False)
    from semiseg_mm.datasets.synthetic import make_detection_set
    from semiseg_mm.det.coco_splits import write_splits
    det = str(tmp_path / 'det')
    make_detection_set(det, num_train=40, num_val=4, num_test=4,
                       progress=False)
    write_splits(osp.join(det, 'annotations', 'instances_train.json'),
                 osp.join(det, 'semi_anns'), [5], [1])
    work = tmp_path / 'demo'
    r = subprocess.run([
        sys.executable, osp.join(REPO, 'tools/demo.py'), '--work-dir',
        str(work), '--data-root', synthetic_root, '--max-iters', '2',
        '--uda', '--uda-root', uda, '--uda-max-iters', '2', '--det',
        '--det-root', det, '--det-max-iters', '2'
    ], capture_output=True, text=True, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr[-3000:]
    assert (f'Trained now: synthetic domain pair {uda}, seed 0, 2 '
            'iterations per row, target test split') in r.stdout
    assert '| AdvEnt |' in r.stdout and 'Ranking target-supervised > AdvEnt' \
        in r.stdout
    assert (f'Trained now: synthetic detection set {det}, 5 % labelled '
            '(fold 1), seed 0, 2 iterations per row') in r.stdout
    assert '| Soft Teacher (fixed 4 + 4), 5 % labelled |' in r.stdout
    assert 'Soft Teacher (fixed 4 + 4) > supervised-only:' in r.stdout
    out = r.stdout
    assert (f'Trained now: synthetic set {synthetic_root} (64 px), seed 0, '
            '2 iterations per row') in out
    assert '| FixMatch, 1/16 |' in out and 'Ranking all labels > FixMatch' \
        in out
    assert 'Recorded in docs/benchmarks.md' in out
    assert '| Mean Teacher, 1/16 |' in out  # recorded, not trained
    picture = work / 'demo_predictions.png'
    assert picture.is_file() and str(picture) in out
    import cv2
    grid = cv2.imread(str(picture))
    assert grid.shape[0] > 4 * 128  # four validation images, one per row
    assert (work / 'label_efficiency_demo.png').is_file()
