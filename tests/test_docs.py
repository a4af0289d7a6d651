"""The tutorial in docs/add_a_method.md runs exactly as written."""
import os
import os.path as osp
import re
import subprocess
import sys

from helpers import REPO

DOC = osp.join(REPO, 'docs', 'add_a_method.md')
BLOCK = re.compile(r'<!-- (file: (?P<path>\S+)|run) -->\n```\w*\n(?P<body>.*?)```',
                   re.S)


def parse(doc: str):
    files, commands = {}, []
    for m in BLOCK.finditer(doc):
        if m.group('path'):
            files[m.group('path')] = m.group('body')
        else:
            commands += [
                line for line in m.group('body').splitlines()
                if line.strip() and not line.startswith('#')
            ]
    return files, commands


def test_tutorial_runs_as_written(synthetic_root, tmp_path):
    with open(DOC) as f:
        files, commands = parse(f.read())
    assert set(files) == {
        'my_project/__init__.py', 'my_project/my_method.py',
        'my_project/my_config.py', 'my_project/my_filter.py',
        'my_project/my_filter_config.py'
    }
    assert len(commands) == 3
    # a "repository root": the page's files, tools/, and the synthetic data
    root = tmp_path / 'repo'
    for rel, body in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(body)
    os.symlink(osp.join(REPO, 'tools'), root / 'tools')
    (root / 'data').mkdir()
    os.symlink(synthetic_root, root / 'data' / 'synthetic')
    env = dict(
        os.environ,
        PATH=osp.dirname(sys.executable) + os.pathsep + os.environ['PATH'],
        OMP_NUM_THREADS='1')
    outputs = []
    for cmd in commands:
        r = subprocess.run(['bash', '-c', cmd], cwd=root, env=env,
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, f'{cmd}\n{r.stderr[-4000:]}'
        outputs.append(r.stdout + r.stderr)
    assert 'decode.loss_bce_boundary' in outputs[0]
    assert 'loss_flip_consistency' in outputs[0]
    assert re.search(r'mIoU: \d+\.\d+', outputs[1]), outputs[1][-2000:]
    # the user-written filter trains in FixMatch, and the health hook reports
    assert 'unsup.accept_ratio' in outputs[2], outputs[2][-2000:]
    assert 'PseudoLabelHealthHook: probe of 30 unlabelled image(s)' in outputs[2]
