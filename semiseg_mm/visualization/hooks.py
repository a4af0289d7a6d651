"""Training-time pictures of pseudo-labels, masks and predictions."""
from typing import Optional

from mmengine.hooks import Hook

from semiseg_mm.models.wrappers import unwrap
from semiseg_mm.registry import HOOKS
from .semi_vis import render_panels


def preprocessor_mean_std(model):
    """Mean/std the model's data preprocessor normalised inputs with."""
    pre = model.data_preprocessor
    pre = getattr(pre, 'data_preprocessor', pre)  # MultiBranch wrapper
    if getattr(pre, '_enable_normalize', False):
        return pre.mean.flatten().tolist(), pre.std.flatten().tolist()
    return [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]


@HOOKS.register_module()
class SemiVisualizationHook(Hook):
    """Every ``interval`` iterations, draw what the method recorded for its
    unlabelled batch (input, teacher pseudo-labels and confidence,
    acceptance mask, student prediction, flaw maps, ...) side by side and
    hand it to the runner's visualizer, which saves it under the work dir
    (``vis_data/vis_image/semi_<iter>.png`` with ``LocalVisBackend``).

    Works with any segmentor that calls ``record_vis`` (all
    ``SemiBaseSegmentor`` subclasses). Costs nothing in other iterations.

    Args:
        interval: iterations between pictures.
        max_images: samples per picture.
    """
    priority = 'LOW'

    def __init__(self, interval: int = 500, max_images: int = 4) -> None:
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        self.interval = interval
        self.max_images = max_images

    def _model(self, runner):
        model = unwrap(runner.model)
        if not hasattr(model, 'record_vis'):
            raise TypeError('SemiVisualizationHook needs a segmentor with '
                            f'record_vis(); got {type(model).__name__}')
        return model

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        self._model(runner).vis_request = (
            (runner.iter + 1) % self.interval == 0)

    def after_train_iter(self, runner, batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        model = self._model(runner)
        if not model.vis_request:
            return
        model.vis_request = False
        data, model.vis_data = model.vis_data, None
        if not data:
            return  # e.g. a supervised warm-up iteration
        mean, std = preprocessor_mean_std(model)
        palette = runner.train_dataloader.dataset.metainfo['palette']
        grid = render_panels(data, palette, mean, std, self.max_images)
        runner.visualizer.add_image('semi', grid, step=runner.iter + 1)
