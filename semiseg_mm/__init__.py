"""semiseg_mm: label-efficient semantic segmentation for OpenMMLab.

Importing the package (cheap: no model code is imported) does three things
that must happen before a config is parsed or a checkpoint is read:

* registers ``semiseg_mm`` with MMEngine's external-package table, so
  ``Config.fromfile('semiseg_mm::gct/deeplabv2_voc_1-16.py')`` and
  ``_base_ = ['semiseg_mm::...']`` resolve to the configs shipped with us;
* allow-lists the few MMEngine/NumPy types that runner checkpoints contain for
  torch>=2.6 weights-only loading (resume, ``load_from``, ``init_model``);
* exposes :func:`get_config` and :func:`register_all_modules`.
"""
from .utils.checkpoint import allow_mmengine_checkpoint_globals
from .utils.config import get_config, get_config_path, register_package
from .utils.setup_env import register_all_modules
from .version import __version__

register_package()
allow_mmengine_checkpoint_globals()

__all__ = [
    '__version__', 'get_config', 'get_config_path', 'register_all_modules',
    'allow_mmengine_checkpoint_globals'
]
