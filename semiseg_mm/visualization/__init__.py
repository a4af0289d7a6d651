"""Visualisation of semi-supervised training signals."""
from .hooks import SemiVisualizationHook, preprocessor_mean_std
from .semi_vis import (VERDICTS, panels_for, probe_panels, render_panels,
                       verdict_map)

__all__ = [
    'SemiVisualizationHook', 'render_panels', 'panels_for',
    'preprocessor_mean_std', 'probe_panels', 'verdict_map', 'VERDICTS'
]
