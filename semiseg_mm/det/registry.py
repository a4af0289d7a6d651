"""Registries of semiseg_mm's detection part: children of MMDetection's.

Detection configs set ``default_scope = 'semiseg_mm_det'``: our detection
components resolve by their bare names, and every mmdet / mmengine
component through the parent chain, so a config reads like mmdet's own
(``type='FasterRCNN'``, ``type='CocoMetric'``, ``type='ScheduledSoftTeacher'``).
The segmentation registries (scope ``semiseg_mm``) are children of
MMSegmentation's and know nothing of mmdet's detectors, hence a scope of its
own. MMEngine imports ``<scope>.registry`` whenever it switches to a scope,
so the scope is also the name of a small top-level package,
``semiseg_mm_det``, that re-exports this module; ``semiseg_mm_det::`` is
registered as a config prefix beside ``semiseg_mm::`` so that
``_base_ = ['semiseg_mm_det::soft_teacher/...']`` gives inherited dicts the
detection scope (a ``semiseg_mm::`` base would give them the segmentation
one).

Each registry imports, on first use, the modules that fill it and its mmdet
parent (a child registry does not trigger its parent's imports).
"""
from mmdet.registry import DATA_SAMPLERS as MMDET_DATA_SAMPLERS
from mmdet.registry import DATASETS as MMDET_DATASETS
from mmdet.registry import EVALUATOR as MMDET_EVALUATOR
from mmdet.registry import HOOKS as MMDET_HOOKS
from mmdet.registry import LOG_PROCESSORS as MMDET_LOG_PROCESSORS
from mmdet.registry import LOOPS as MMDET_LOOPS
from mmdet.registry import METRICS as MMDET_METRICS
from mmdet.registry import MODEL_WRAPPERS as MMDET_MODEL_WRAPPERS
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMDET_OPTIM_WRAPPER_CONSTRUCTORS
from mmdet.registry import OPTIM_WRAPPERS as MMDET_OPTIM_WRAPPERS
from mmdet.registry import OPTIMIZERS as MMDET_OPTIMIZERS
from mmdet.registry import PARAM_SCHEDULERS as MMDET_PARAM_SCHEDULERS
from mmdet.registry import RUNNER_CONSTRUCTORS as MMDET_RUNNER_CONSTRUCTORS
from mmdet.registry import RUNNERS as MMDET_RUNNERS
from mmdet.registry import TASK_UTILS as MMDET_TASK_UTILS
from mmdet.registry import TRANSFORMS as MMDET_TRANSFORMS
from mmdet.registry import VISBACKENDS as MMDET_VISBACKENDS
from mmdet.registry import VISUALIZERS as MMDET_VISUALIZERS
from mmdet.registry import \
    WEIGHT_INITIALIZERS as MMDET_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

DET_SCOPE = 'semiseg_mm_det'
_OURS = 'semiseg_mm.det'


def _child(name, parent, *mmdet_locations):
    locations = [_OURS, *mmdet_locations] if mmdet_locations else []
    return Registry(name, parent=parent, scope=DET_SCOPE, locations=locations)


RUNNERS = _child('runner', MMDET_RUNNERS, 'mmdet.engine.runner')
RUNNER_CONSTRUCTORS = _child('runner constructor', MMDET_RUNNER_CONSTRUCTORS,
                             'mmdet.engine.runner')
LOOPS = _child('loop', MMDET_LOOPS, 'mmdet.engine.runner')
HOOKS = _child('hook', MMDET_HOOKS, 'mmdet.engine.hooks')
DATASETS = _child('dataset', MMDET_DATASETS, 'mmdet.datasets')
DATA_SAMPLERS = _child('data sampler', MMDET_DATA_SAMPLERS,
                       'mmdet.datasets.samplers')
TRANSFORMS = _child('transform', MMDET_TRANSFORMS,
                    'mmdet.datasets.transforms')
MODELS = _child('model', MMDET_MODELS, 'mmdet.models')
MODEL_WRAPPERS = _child('model_wrapper', MMDET_MODEL_WRAPPERS, 'mmdet.models')
WEIGHT_INITIALIZERS = _child('weight initializer', MMDET_WEIGHT_INITIALIZERS,
                             'mmdet.models')
TASK_UTILS = _child('task util', MMDET_TASK_UTILS, 'mmdet.models')
OPTIMIZERS = _child('optimizer', MMDET_OPTIMIZERS, 'mmdet.engine.optimizers')
OPTIM_WRAPPERS = _child('optim_wrapper', MMDET_OPTIM_WRAPPERS,
                        'mmdet.engine.optimizers')
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    MMDET_OPTIM_WRAPPER_CONSTRUCTORS,
                                    'mmdet.engine.optimizers')
PARAM_SCHEDULERS = _child('parameter scheduler', MMDET_PARAM_SCHEDULERS,
                          'mmdet.engine.schedulers')
METRICS = _child('metric', MMDET_METRICS, 'mmdet.evaluation')
EVALUATOR = _child('evaluator', MMDET_EVALUATOR, 'mmdet.evaluation')
VISUALIZERS = _child('visualizer', MMDET_VISUALIZERS, 'mmdet.visualization')
VISBACKENDS = _child('vis_backend', MMDET_VISBACKENDS, 'mmdet.visualization')
LOG_PROCESSORS = _child('log_processor', MMDET_LOG_PROCESSORS, 'mmdet.engine')
