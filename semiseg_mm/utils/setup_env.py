"""Registering every semiseg_mm module and setting the default scope."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every semiseg_mm module so it is in the registries.

    Configs do not need this (``default_scope='semiseg_mm'`` and the
    registries' import locations suffice); it is for scripts that build
    components by name outside a runner.

    Args:
        init_default_scope: also make ``semiseg_mm`` the default scope.
    """
    import mmdet.datasets  # noqa: F401  (MultiBranch, MultiSourceSampler)
    import mmdet.engine  # noqa: F401  (TeacherStudentValLoop)
    import mmdet.models.data_preprocessors  # noqa: F401
    import mmseg.datasets  # noqa: F401
    import mmseg.engine  # noqa: F401
    import mmseg.evaluation  # noqa: F401
    import mmseg.models  # noqa: F401

    import semiseg_mm.datasets  # noqa: F401
    import semiseg_mm.det  # noqa: F401  (the semiseg_mm_det scope)
    import semiseg_mm.engine  # noqa: F401
    import semiseg_mm.evaluation  # noqa: F401
    import semiseg_mm.models  # noqa: F401
    import semiseg_mm.visualization  # noqa: F401

    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None or not DefaultScope.check_instance_created(
            'semiseg_mm'):
        DefaultScope.get_instance('semiseg_mm', scope_name='semiseg_mm')
    elif current.scope_name != 'semiseg_mm':
        warnings.warn(f'The current default scope {current.scope_name!r} is '
                      'replaced by "semiseg_mm".')
        DefaultScope.get_instance(
            f'semiseg_mm-{datetime.datetime.now()}', scope_name='semiseg_mm')
