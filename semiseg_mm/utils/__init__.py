"""Environment helpers: config lookup, checkpoint compatibility, launching.

``register_all_modules`` lives here too because MMEngine falls back to
``<scope>.utils.register_all_modules`` for registries without import
locations.
"""
from .setup_env import register_all_modules

__all__ = ['register_all_modules']
