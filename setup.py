"""Packaging for semiseg_mm.

Like mmseg/mmdet, the configs, tools and model index ship inside the package
under ``semiseg_mm/.mim`` so ``semiseg_mm::<method>/<config>.py`` works after
``pip install``: an editable install links them, a regular install copies them.

torch and mmcv are deliberately not install requirements: a bare ``torch``
requirement makes pip fetch a multi-GB CUDA build, and mmcv must match the
user's torch/CUDA (``mim install mmcv==2.1.0`` on GPU machines, built from
source with ops on CPU machines, see ``make install``).
"""
import os
import os.path as osp
import shutil
import sys
import warnings

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))
MIM_FILES = ['configs', 'tools', 'model-index.yml']


def readme() -> str:
    with open(osp.join(HERE, 'README.md'), encoding='utf-8') as f:
        return f.read()


def get_version() -> str:
    scope: dict = {}
    with open(osp.join(HERE, 'semiseg_mm', 'version.py')) as f:
        exec(compile(f.read(), 'version.py', 'exec'), scope)
    return scope['__version__']


def parse_requirements(fname: str) -> list:
    reqs = []
    with open(osp.join(HERE, 'requirements', fname)) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line:
                reqs.append(line)
    return reqs


def add_mim_extension() -> None:
    """Link (editable install) or copy (regular install) the files that
    ``mim``/``semiseg_mm::`` config loading expects under ``.mim``."""
    editable = any(a in sys.argv for a in ('develop', 'editable_wheel'))
    if not editable and not any(
            a in sys.argv for a in ('install', 'bdist_wheel', 'sdist')):
        return
    mim_path = osp.join(HERE, 'semiseg_mm', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for name in MIM_FILES:
        src = osp.join(HERE, name)
        dst = osp.join(mim_path, name)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if editable:
            try:
                os.symlink(osp.relpath(src, mim_path), dst)
                continue
            except OSError:
                warnings.warn(f'Cannot link {src}; copying it instead.')
        if osp.isdir(src):
            shutil.copytree(src, dst)
        else:
            shutil.copyfile(src, dst)


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='semiseg_mm',
        version=get_version(),
        description='Label-efficient semantic segmentation (semi-supervised '
        'learning and domain adaptation) for OpenMMLab',
        long_description=readme(),
        long_description_content_type='text/markdown',
        license='Apache License 2.0',
        python_requires='>=3.8',
        packages=find_packages(exclude=('configs', 'tools', 'tests', 'docs')),
        include_package_data=True,
        package_data={'semiseg_mm': ['.mim/**/*', '.mim/*']},
        install_requires=parse_requirements('runtime.txt'),
        extras_require={
            'tests': parse_requirements('tests.txt'),
            'mim': parse_requirements('mminstall.txt'),
        },
        zip_safe=False)
