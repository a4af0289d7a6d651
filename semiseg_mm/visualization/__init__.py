"""Visualisation of semi-supervised training signals."""
from .hooks import SemiVisualizationHook, preprocessor_mean_std
from .semi_vis import panels_for, render_panels

__all__ = [
    'SemiVisualizationHook', 'render_panels', 'panels_for',
    'preprocessor_mean_std'
]
