"""The label-efficiency benchmark tool: configs it writes, its maths, and a
tiny end-to-end run."""
import os.path as osp
import subprocess
import sys

import pytest

from helpers import REPO
from semiseg_mm.benchmark import label_efficiency as le
from semiseg_mm.utils.config import config_root


def test_every_entry_builds_a_run_config(tmp_path):
    for entry in le.ENTRIES.values():
        cfg = le.make_run_config(entry, 2, config_root(), 300, str(tmp_path))
        iters = round(300 * entry.iters_share)  # a stage of a 2-stage row
        assert cfg.randomness.seed == 2
        assert cfg.train_cfg.max_iters == iters
        assert cfg.train_cfg.val_interval == iters
        assert cfg.default_hooks.checkpoint.interval == iters
        for key, template in entry.split_keys.items():
            node = cfg
            for part in key.split('.'):
                node = node[part]
            assert node == template.format(seed=2)


def test_two_stage_rows_share_one_budget_and_chain_checkpoints(tmp_path):
    """Pretraining (1/3) + fine-tuning (2/3) train the iterations of a
    one-stage row; the fine-tuning run starts from its own seed's stage-1
    checkpoint; a pretraining stage is never a row of the table."""
    pre, fine = le.ENTRIES['pixel_contrast_pretrain'], le.ENTRIES[
        'pixel_contrast']
    work = str(tmp_path / 'bench' / 'pixel_contrast_seed1' / 'work')
    a = le.make_run_config(pre, 1, config_root(), 3000, work)
    b = le.make_run_config(fine, 1, config_root(), 3000, work)
    assert a.train_cfg.max_iters + b.train_cfg.max_iters == 3000
    assert b.model.backbone.init_cfg.checkpoint == str(
        tmp_path / 'bench' / 'pixel_contrast_pretrain_seed1' / 'work' /
        f'iter_{a.train_cfg.max_iters}.pth')
    # the configs' own schedules: 1000 + 2000
    assert le.make_run_config(pre, 1, config_root(), None,
                              work).train_cfg.max_iters == 1000
    assert le.make_run_config(fine, 1, config_root(), None,
                              work).train_cfg.max_iters == 2000
    results = [le.RunResult('pixel_contrast_pretrain', 1, float('nan'), 60.,
                            float('nan')),
               le.RunResult('pixel_contrast', 1, 50.0, 120., 49.0)]
    rows = le.summarise([pre, fine], results)
    assert [r.entry.key for r in rows] == ['pixel_contrast']
    with pytest.raises(ValueError, match='iters_share must be in'):
        le.Entry('x', 'x', 'x.py', iters_share=0)


def test_cache_key_ignores_work_dir_only(tmp_path):
    entry = le.ENTRIES['sup_1-16']
    a = le.make_run_config(entry, 0, config_root(), 300, str(tmp_path / 'a'))
    b = le.make_run_config(entry, 0, config_root(), 300, str(tmp_path / 'b'))
    c = le.make_run_config(entry, 1, config_root(), 300, str(tmp_path / 'a'))
    d = le.make_run_config(entry, 0, config_root(), 200, str(tmp_path / 'a'))
    assert a.work_dir != b.work_dir
    assert le.config_digest(a) == le.config_digest(b)
    assert len({le.config_digest(x) for x in (a, c, d)}) == 3


def test_input_size_reaches_every_data_preprocessor(tmp_path):
    """A set of another image size (the 32 px demo set) pads to its own
    size: the semi-supervised wrapper's preprocessor and its segmentor's,
    not only the top-level one; 64 px leaves the configs (and with them the
    cached runs) as they are."""
    from semiseg_mm.datasets.synthetic import SEG_STYLES
    for key in ('sup_1-16', 'fixmatch', 'gct'):
        entry = le.ENTRIES[key]
        plain = le.make_run_config(entry, 0, config_root(), 30, str(tmp_path))
        same = le.make_run_config(entry, 0, config_root(), 30, str(tmp_path),
                                  input_size=(64, 64))
        assert le.config_digest(plain) == le.config_digest(same)
        small = le.make_run_config(entry, 0, config_root(), 30,
                                   str(tmp_path), input_size=(32, 32))
        sizes = []

        def walk(node):
            if isinstance(node, dict):
                if 'DataPreProcessor' in str(node.get('type', '')) and \
                        'size' in node:
                    sizes.append(tuple(node['size']))
                for v in node.values():
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)

        walk(small.model)
        assert sizes and set(sizes) == {(32, 32)}, (key, sizes)
    assert SEG_STYLES['demo'].style.size == 32
    assert le.set_input_size({'type': 'X', 'size': 3}, (32, 32)) == 0
    (tmp_path / 'x.py').write_text("model = dict(type='EncoderDecoder')\n")
    with pytest.raises(KeyError, match='x.py: no data preprocessor'):
        le.make_run_config(le.Entry('x', 'x', 'x.py'), 0, str(tmp_path), 1,
                           str(tmp_path), input_size=(32, 32))


def test_image_size_reads_the_generated_set(synthetic_root, tmp_path):
    from semiseg_mm.datasets.synthetic import image_size
    assert image_size(synthetic_root) == 64
    assert image_size(str(tmp_path)) is None


def test_finished_run_needs_the_same_config(tmp_path):
    import json
    entry = le.ENTRIES['fixmatch']
    assert le.finished_run(entry, 0, config_root(), 300, str(tmp_path)) is None
    run_dir = tmp_path / 'fixmatch_seed0'
    run_dir.mkdir()
    cfg = le.make_run_config(entry, 0, config_root(), 300,
                             str(run_dir / 'work'))
    (run_dir / 'result.json').write_text(
        json.dumps(dict(miou=61.5, test_miou=60.25, seconds=60.0,
                        config_sha1=le.config_digest(cfg))))
    done = le.finished_run(entry, 0, config_root(), 300, str(tmp_path))
    assert (done.entry, done.seed, done.miou, done.test_miou) == (
        'fixmatch', 0, 61.5, 60.25)
    # another schedule is another run
    assert le.finished_run(entry, 0, config_root(), 200, str(tmp_path)) is None
    # the table reports test, with val beside it; or val on request
    table = le.markdown_table(le.summarise([entry], [done]))
    assert '| test mIoU (mean ± std) |' in table
    assert '| 60.25 (1 seed) | 60.2 | n/a | 61.50 |' in table
    val = le.markdown_table(le.summarise([entry], [done], 'val'), 'val')
    assert '| val mIoU (mean ± std) |' in val and '| 61.50 (1 seed) |' in val
    with pytest.raises(ValueError, match='split must be one of'):
        le.summarise([entry], [done], 'train')


def test_cfg_options_make_another_run(tmp_path):
    import json
    entry = le.ENTRIES['fixmatch']
    plain = le.make_run_config(entry, 0, config_root(), 300, str(tmp_path))
    other = plain.model.pseudo_label_filter.threshold / 2  # not the config's
    opts = {'model.pseudo_label_filter.threshold': other}
    cfg = le.make_run_config(entry, 0, config_root(), 300,
                             str(tmp_path / 'fixmatch_seed0' / 'work'), opts)
    assert cfg.model.pseudo_label_filter.threshold == other
    (tmp_path / 'fixmatch_seed0').mkdir()
    (tmp_path / 'fixmatch_seed0' / 'result.json').write_text(
        json.dumps(dict(miou=64.0, seconds=1.0,
                        config_sha1=le.config_digest(cfg))))
    # the variant's result is not the committed config's, and vice versa
    assert le.finished_run(entry, 0, config_root(), 300, str(tmp_path)) is None
    done = le.finished_run(entry, 0, config_root(), 300, str(tmp_path), opts)
    assert done.miou == 64.0
    # a new leaf is allowed (an option left at its default) ...
    cfg = le.make_run_config(entry, 0, config_root(), 300, str(tmp_path),
                             {'model.semi_train_cfg.feature_perturbation':
                              dict(drop_prob=0.5)})
    assert cfg.model.semi_train_cfg.feature_perturbation.drop_prob == 0.5
    # ... a misspelt section is not
    with pytest.raises(KeyError, match="dilatedconvnet_synthetic_1-16.py has "
                       "no 'model.semi_train_cgf'"):
        le.make_run_config(entry, 0, config_root(), 300, str(tmp_path),
                           {'model.semi_train_cgf.threshold': 0.5})
    with pytest.raises(KeyError, match="'model.type' .* is not a dict"):
        le.make_run_config(entry, 0, config_root(), 300, str(tmp_path),
                           {'model.type.x': 1})


def test_cli_refuses_to_record_a_variant(tmp_path):
    r = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools/label_efficiency.py'), '--methods', 'fixmatch',
        '--cfg-options', 'model.pseudo_label_filter.threshold=0.5',
        '--write-docs', '--work-dir',
        str(tmp_path)
    ],
                       capture_output=True,
                       text=True)
    assert r.returncode != 0
    assert '--write-docs records the configs as committed' in r.stderr


def test_cli_refuses_an_unknown_style(tmp_path):
    r = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools/label_efficiency.py'), '--style', 'glossy',
        '--work-dir', str(tmp_path)
    ], capture_output=True, text=True)
    assert r.returncode != 0
    assert "unknown --style 'glossy'; known: ['demo', 'shapes', 'textured']" in \
        r.stderr


def test_final_metric_reads_the_newest_run_only(tmp_path):
    """A run dir retrained after a config change keeps the old timestamp
    folder; its (older) scalars must not be reported for the new run."""
    import json
    import os
    # the new run's folder name sorts *before* the old one's, so neither
    # name order nor os.walk order can pick the right file by accident
    for stamp, miou, mtime in (('20260101_000000', 59.22, 2_000_000),
                               ('20991231_000000', 57.9, 1_000_000)):
        vis = tmp_path / stamp / 'vis_data'
        vis.mkdir(parents=True)
        f = vis / 'scalars.json'
        f.write_text(
            json.dumps({'loss': 0.3, 'step': 10}) + '\n' +
            json.dumps({'teacher/mIoU': miou - 1, 'step': 20}) + '\n' +
            json.dumps({'teacher/mIoU': miou, 'step': 30}) + '\n')
        os.utime(f, (mtime, mtime))
    assert le._final_metric(str(tmp_path), 'teacher/mIoU') == 59.22
    with pytest.raises(RuntimeError, match='model1/mIoU.*20260101_000000'):
        le._final_metric(str(tmp_path), 'model1/mIoU')
    with pytest.raises(RuntimeError, match='no scalars.json'):
        le._final_metric(str(tmp_path / '20260101_000000' / 'vis_data' /
                             'nothing'), 'teacher/mIoU')


def test_runs_loading_a_checkpoint_wait_for_it(tmp_path, monkeypatch):
    """FixMatch + ELN filter loads the ELN run's final checkpoint of its
    seed: ELN trains first (also when not asked for, then unreported)."""
    started, real_run_one = [], le.run_one

    def fake_run_one(entry, seed, *args):
        started.append((entry.key, seed))
        return le.RunResult(entry.key, seed, 50.0, 1.0, 49.0)

    monkeypatch.setattr(le, 'run_one', fake_run_one)
    results = le.run_benchmark([le.ENTRIES['fixmatch_eln']], [0, 1], '', '',
                               '', '', jobs=2, progress=False)
    assert started[:2] == [('eln', 0), ('eln', 1)]
    assert sorted(started[2:]) == [('fixmatch_eln', 0), ('fixmatch_eln', 1)]
    assert [(r.entry, r.seed) for r in results] == [('fixmatch_eln', 0),
                                                   ('fixmatch_eln', 1)]
    cfg = le.make_run_config(le.ENTRIES['fixmatch_eln'], 1, config_root(),
                             300, str(tmp_path / 'fixmatch_eln_seed1' / 'work'))
    assert cfg.model.pseudo_label_filter.checkpoint == str(
        tmp_path / 'eln_seed1' / 'work' / 'iter_300.pth')
    # FixMatch + GCT's flaw-map filter: the GCT run of its seed
    cfg = le.make_run_config(le.ENTRIES['fixmatch_flawmap'], 2,
                             config_root(), 300,
                             str(tmp_path / 'fixmatch_flawmap_seed2' / 'work'))
    assert cfg.model.pseudo_label_filter.checkpoint == str(
        tmp_path / 'gct_seed2' / 'work' / 'iter_300.pth')
    with pytest.raises(FileNotFoundError, match=r'needs the eln run.s '
                       r'checkpoint .*eln_seed0/work/iter_3000.pth'):
        real_run_one(le.ENTRIES['fixmatch_eln'], 0, config_root(), '', None,
                     str(tmp_path), '')


def test_longest_runs_start_first_results_keep_order(tmp_path, monkeypatch):
    started = []

    def fake_run_one(entry, seed, *args):
        started.append(entry.key)
        return le.RunResult(entry.key, seed, 50.0, 1.0, 49.0)

    monkeypatch.setattr(le, 'run_one', fake_run_one)
    entries = [le.ENTRIES[k] for k in ('sup_1-16', 'gct', 'mean_teacher')]
    results = le.run_benchmark(entries, [0], '', '', '', '', jobs=1,
                               progress=False)
    assert started == ['gct', 'mean_teacher', 'sup_1-16']
    assert [r.entry for r in results] == ['sup_1-16', 'gct', 'mean_teacher']


def test_schedule_scaling_covers_rampups():
    cfg = dict(
        train_cfg=dict(max_iters=3000, val_interval=3000),
        model=dict(
            semi_train_cfg=dict(
                rampup=dict(kind='linear', rampup_iters=300,
                            start_iters=600),
                stages=[dict(name='a', begin=0, end=500),
                        dict(name='b', begin=500, end=3000)],
                threshold=0.95)),
        param_scheduler=[
            dict(type='PolyLR', begin=0, end=3000),
            dict(type='MultiStepLR', begin=0, end=3000,
                 milestones=[2000, 2667])
        ])
    le._scale_iterations(cfg, 0.1)
    assert cfg['train_cfg'] == dict(max_iters=300, val_interval=300)
    assert cfg['model']['semi_train_cfg']['rampup'] == dict(
        kind='linear', rampup_iters=30, start_iters=60)
    assert cfg['model']['semi_train_cfg']['threshold'] == 0.95
    # a stage table still starts at 0, its stages contiguous
    assert [(d['begin'], d['end']) for d in
            cfg['model']['semi_train_cfg']['stages']] == [(0, 50), (50, 300)]
    assert cfg['param_scheduler'][0]['end'] == 300
    # the schedule still begins at iteration 0, a short warm-up lasts >= 1
    assert cfg['param_scheduler'][0]['begin'] == 0
    # a step schedule keeps its steps at the same share of the run
    assert cfg['param_scheduler'][1]['milestones'] == [200, 267]
    le._scale_iterations(cfg, 0.001)
    assert cfg['param_scheduler'][0] == dict(type='PolyLR', begin=0, end=1)


def test_gap_and_table():
    assert le.gap_closed(40, 30, 70) == pytest.approx(25.0)
    rows = [
        le.Row(le.ENTRIES['sup_1-16'], [30.0, 32.0], 1.0),
        le.Row(le.ENTRIES['sup_full'], [70.0], 1.0),
        le.Row(le.ENTRIES['fixmatch'], [46.0, 48.0], 2.0),
    ]
    table = le.markdown_table(rows)
    assert '| FixMatch, 1/16 |' in table and '| 47.00 ± 1.41 |' in table
    # full labels not above 1/16 (a too-short schedule): no gap to close
    worse = [le.Row(rows[0].entry, [30.0], 1.0),
             le.Row(rows[1].entry, [29.0], 1.0)]
    assert '| n/a |' in le.markdown_table(worse)
    assert 'nan' not in le.markdown_table(worse)
    assert '| 41 % |' in table  # (47 - 31) / (70 - 31) = 41.03 %
    # (30.9 - 31) / (70 - 31) = -0.26 %: printed as 0 %, not -0 %
    below = le.markdown_table(rows[:2] + [le.Row(rows[2].entry, [30.9], 2.0)])
    assert '| 0 % |' in below and '-0 %' not in below
    text = le.replace_block('a\n<!-- x:start -->\nold\n<!-- x:end -->\nb',
                            'x', 'new')
    assert text == 'a\n<!-- x:start -->\nnew\n<!-- x:end -->\nb'
    assert '<!-- y:start -->\nnew\n<!-- y:end -->' in le.replace_block(
        'a', 'y', 'new')


def test_tiny_run_end_to_end(synthetic_root, tmp_path):
    r = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools/label_efficiency.py'), '--methods',
        'sup_1-16', 'sup_full', '--max-iters', '2', '--seeds', '0',
        '--data-root', synthetic_root, '--work-dir',
        str(tmp_path), '--jobs', '2'
    ],
                       capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    assert '| Supervised, 1/16 labels |' in r.stdout
    assert '| Supervised, all labels |' in r.stdout
    # the short-run footnote names the configs' own schedule length
    full = le.config_iters(le.ENTRIES['sup_1-16'], config_root())
    assert f'whose {full}-iteration, 3-seed results' in r.stdout
    import json
    result = json.loads(
        (tmp_path / 'sup_full_seed0' / 'result.json').read_text())
    # validated on val during training, then tested on test
    assert 0 <= result['miou'] <= 100 and 0 <= result['test_miou'] <= 100
    assert (tmp_path / 'sup_full_seed0' / 'test.log').is_file()
    # a second run reuses the stored results (no training)
    r2 = subprocess.run(r.args, capture_output=True, text=True)
    assert r2.returncode == 0
    assert not (tmp_path / 'sup_full_seed0' / 'work' / 'iter_4.pth').exists()


def test_variants_run_only_when_named():
    """Rows with default=False (e.g. GCT's strong-view variant) stay out of
    make demo, the full benchmark and the docs table unless named."""
    keys = le.default_keys()
    assert keys == ['sup_1-16', 'sup_full', 'mean_teacher', 'fixmatch', 'eln',
                    'pixel_contrast', 'dual_branch', 'gct']
    assert not le.ENTRIES['gct_strong_ce'].default
    assert 'gct_strong_ce' in le.ENTRIES


def test_block_writes_its_own_table_and_figure(synthetic_root, tmp_path,
                                               monkeypatch):
    """``--block NAME`` writes a subset's table into its own docs block and
    figure, leaving the main block alone."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'label_efficiency_cli', osp.join(REPO, 'tools/label_efficiency.py'))
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    doc = tmp_path / 'benchmarks.md'
    main_block = ('<!-- label-efficiency-full:start -->\nthe main table\n'
                  '<!-- label-efficiency-full:end -->\n')
    doc.write_text(main_block)
    monkeypatch.setattr(cli, 'DOC', str(doc))
    monkeypatch.setattr(cli, 'FIG',
                        str(tmp_path / 'figures' / 'label_efficiency.png'))
    cli.main([
        '--preset', 'full', '--methods', 'sup_1-16', '--max-iters', '2',
        '--seeds', '0', '--data-root', synthetic_root, '--work-dir',
        str(tmp_path / 'runs'), '--write-docs', '--block', 'filters-demo'
    ])
    text = doc.read_text()
    assert text.startswith(main_block)
    body = text.split('<!-- filters-demo:start -->')[1].split(
        '<!-- filters-demo:end -->')[0]
    assert '| Supervised, 1/16 labels |' in body
    assert '![label efficiency](figures/filters_demo.png)' in body
    assert (tmp_path / 'figures' / 'filters_demo.png').is_file()
    assert not (tmp_path / 'figures' / 'label_efficiency.png').exists()
    with pytest.raises(SystemExit):
        cli.parse_args(['--block', 'Filters Table'])
