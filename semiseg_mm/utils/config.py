"""Model-zoo access: ``get_config`` and the ``semiseg_mm::`` config prefix."""
import functools
import os
import os.path as osp
from typing import Callable

from mmengine.config import Config
from mmengine.config.utils import MODULE2PACKAGE

PACKAGE = 'semiseg_mm'
# the detection configs' prefix and registry scope (semiseg_mm.det.registry):
# the same shipped configs, but inherited dicts get the detection scope
DET_PREFIX = 'semiseg_mm_det'
PREFIXES = (PACKAGE + '::', DET_PREFIX + '::')
_PKG_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def register_package() -> None:
    """Let MMEngine resolve ``semiseg_mm::`` config paths.

    * ``_base_ = ['semiseg_mm::...']``: MMEngine only accepts ``pkg::path``
      for packages listed in ``MODULE2PACKAGE``; ``custom_imports`` would run
      too late (after the config, including its ``_base_``, was parsed).
    * ``Config.fromfile('semiseg_mm::...')``: MMEngine resolves ``pkg::``
      only inside ``_base_``; we wrap ``Config.fromfile`` so a top-level
      ``pkg::`` name is resolved the same way. Plain paths are untouched.
    """
    MODULE2PACKAGE.setdefault(PACKAGE, PACKAGE)
    MODULE2PACKAGE.setdefault(DET_PREFIX, PACKAGE)
    if not getattr(Config.fromfile, '_accepts_package_prefix', False):
        Config.fromfile = staticmethod(_package_aware(Config.fromfile))
    # MMEngine finds a package's ``.mim`` folder through
    # ``pkg_resources.get_distribution(pkg).location``. For a PEP 660
    # editable install that is site-packages, where only a finder hook
    # lives, so ``_base_ = ['semiseg_mm::...']`` would look in a folder that
    # does not exist. Answer for our package with the imported package's
    # folder (identical to MMEngine's answer for a regular install).
    import mmengine.config.config as config_module
    if not getattr(config_module.get_installed_path, '_knows_semiseg_mm',
                   False):
        config_module.get_installed_path = _installed_path_aware(
            config_module.get_installed_path)


def _package_aware(fromfile: Callable) -> Callable:

    @functools.wraps(fromfile)
    def wrapper(filename, *args, **kwargs):
        if isinstance(filename, str) and '::' in filename:
            filename = resolve_package_config(filename)
        return fromfile(filename, *args, **kwargs)

    wrapper._accepts_package_prefix = True  # type: ignore[attr-defined]
    return wrapper


def _installed_path_aware(get_installed_path: Callable) -> Callable:

    @functools.wraps(get_installed_path)
    def wrapper(package: str) -> str:
        if package == PACKAGE:
            return _PKG_ROOT
        return get_installed_path(package)

    wrapper._knows_semiseg_mm = True  # type: ignore[attr-defined]
    return wrapper


def resolve_package_config(name: str) -> str:
    """File path of ``pkg::relative/config.py`` (ours or any OpenMMLab
    package MMEngine knows)."""
    if name.startswith(PREFIXES):
        return get_config_path(name)
    path, _ = Config._get_cfg_path(name, '')
    return path


def config_root() -> str:
    """Folder holding the shipped configs.

    ``semiseg_mm/.mim/configs`` after installation (a link to the repository's
    ``configs/`` for editable installs); the repository's ``configs/`` when
    running from a source checkout that was never installed.
    """
    for root in (osp.join(_PKG_ROOT, '.mim', 'configs'),
                 osp.join(osp.dirname(_PKG_ROOT), 'configs')):
        if osp.isdir(root):
            return root
    raise FileNotFoundError(
        f'No shipped configs found: expected {_PKG_ROOT}/.mim/configs '
        '(created by `pip install`) or a configs/ folder beside the package.')


def get_config_path(name: str) -> str:
    """Absolute path of a shipped config, e.g. ``'gct/deeplabv2_voc_1-16.py'``.

    The ``semiseg_mm::`` (or detection ``semiseg_mm_det::``) prefix is
    accepted and stripped.
    """
    for prefix in PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix):]
    root = config_root()
    path = osp.join(root, name)
    if not osp.isfile(path):
        method = name.split('/')[0]
        folder = osp.join(root, method)
        hint = ''
        if osp.isdir(folder):
            names = sorted(f for f in os.listdir(folder) if f.endswith('.py'))
            hint = f' Configs in {method}/: {", ".join(names)}.'
        raise FileNotFoundError(
            f'semiseg_mm has no config {name!r} (looked in {root}).{hint}')
    return path


def get_config(name: str) -> Config:
    """Load a shipped config by its path relative to ``configs/``.

    Example:
        >>> cfg = get_config('supervised/tinynet_synthetic_1-16.py')
    """
    return Config.fromfile(get_config_path(name))
