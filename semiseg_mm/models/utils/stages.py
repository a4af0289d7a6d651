"""Training stages: named iteration ranges with their own behaviour.

Some methods train in stages: ELN pre-trains the segmenter on labelled
images, then trains its error-localisation network and auxiliary decoders
with it, then learns from unlabelled images with that network frozen. The
method declares, in code, what each stage does (a :class:`StageSpec` per
stage name, in order); the config says when each stage runs::

    semi_train_cfg=dict(stages=[
        dict(name='pretrain', begin=0, end=2000),
        dict(name='eln', begin=2000, end=4000),
        dict(name='semi', begin=4000, end=20000),
    ])

The stages must cover ``[0, train_cfg.max_iters)`` without gaps or
overlaps, in the order the method declares them (a stage may be left out,
e.g. the pre-training when a checkpoint is loaded). Which stage is current
follows from the iteration alone, so a resumed run re-enters the stage it
stopped in. :class:`~semiseg_mm.models.segmentors.semi_base.SemiBaseSegmentor`
applies a stage's frozen sub-modules, ``MultiOptimMixin`` runs only its
optimisers, ``EMATeacherHook`` starts the teacher at the first iteration of
the first stage that uses one, and ``StagePolyLR`` gives each stage its own
learning-rate decay.
"""
import bisect
from dataclasses import dataclass
from typing import Dict, NamedTuple, Optional, Sequence, Tuple

#: keys a config's stage entry may hold
STAGE_KEYS = ('name', 'begin', 'end', 'frozen')


class StageSpec(NamedTuple):
    """What a method does in one stage (declared by the method).

    Args:
        frozen: dotted attribute paths of sub-modules frozen during the
            stage (no gradients, eval mode), unfrozen when it ends.
        optimizers: the optimisers whose steps run (``MultiOptimMixin``
            methods); ``None``: every step.
        teacher: the stage learns from the EMA teacher; ``EMATeacherHook``
            copies the student into it at the first iteration of the first
            such stage and averages after every iteration of these stages.
        unlabelled: the stage uses unlabelled images. A stage without
            gets the labelled branch of each batch only
            (``SemiBaseSegmentor.stage_batch``: the unlabelled images are
            loaded but not preprocessed) and no pseudo-label health report.
    """
    frozen: Tuple[str, ...] = ()
    optimizers: Optional[Tuple[str, ...]] = None
    teacher: bool = False
    unlabelled: bool = True


@dataclass(frozen=True)
class Stage:
    """One configured stage: iterations ``[begin, end)``."""
    name: str
    begin: int
    end: int
    index: int
    frozen: Tuple[str, ...] = ()
    optimizers: Optional[Tuple[str, ...]] = None
    teacher: bool = False
    unlabelled: bool = True

    def __contains__(self, iteration: int) -> bool:
        return self.begin <= iteration < self.end


class StageSchedule:
    """The configured stages of a method, in order."""

    def __init__(self, stages: Sequence[Stage], key: str = 'stages') -> None:
        self.stages = tuple(stages)
        self.key = key
        self._begins = [s.begin for s in self.stages]

    @classmethod
    def build(cls,
              cfg: Sequence[dict],
              specs: Dict[str, StageSpec],
              owner: str,
              key: str = 'stages') -> 'StageSchedule':
        """Check ``cfg`` (a list of ``dict(name, begin, end)``) against the
        method's declared ``specs``; errors name ``key[i].<field>``."""
        if cfg is None or isinstance(cfg, (str, dict)) or not len(cfg):
            raise ValueError(
                f'{owner} trains in stages {list(specs)}: {key} must be a '
                'list of dict(name=..., begin=..., end=...) covering '
                f'[0, max_iters), got {cfg!r}')
        order = list(specs)
        stages, last_pos = [], -1
        for i, entry in enumerate(cfg):
            where = f'{key}[{i}]'
            if not isinstance(entry, dict):
                raise TypeError(f'{where} must be a dict(name=..., '
                                f'begin=..., end=...), got {entry!r}')
            unknown = sorted(set(entry) - set(STAGE_KEYS))
            missing = [k for k in ('name', 'begin', 'end') if k not in entry]
            if unknown or missing:
                raise ValueError(
                    f'{where}: ' +
                    (f'unknown key(s) {unknown} ' if unknown else '') +
                    (f'missing {missing} ' if missing else '') +
                    f'(a stage takes {list(STAGE_KEYS)})')
            name = entry['name']
            if name not in specs:
                raise ValueError(f'{where}.name={name!r}: {owner} has the '
                                 f'stages {order}')
            pos = order.index(name)
            if pos <= last_pos:
                raise ValueError(
                    f'{where}.name={name!r}: stages run in the order '
                    f'{order}, each at most once')
            last_pos = pos
            begin, end = entry['begin'], entry['end']
            for field, value in (('begin', begin), ('end', end)):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise TypeError(f'{where}.{field} must be an int '
                                    f'(an iteration), got {value!r}')
            if end <= begin:
                raise ValueError(f'{where}: end ({end}) must be greater '
                                 f'than begin ({begin})')
            if not stages and begin != 0:
                raise ValueError(f'{where}.begin={begin}: the first stage '
                                 'must begin at iteration 0')
            if stages and begin != stages[-1].end:
                prev = stages[-1]
                kind = 'a gap' if begin > prev.end else 'an overlap'
                raise ValueError(
                    f'{where}.begin={begin}: {kind} after stage '
                    f'{prev.name!r}, which ends at {prev.end}; each stage '
                    'must begin where the previous one ends')
            spec = specs[name]
            frozen = tuple(entry.get('frozen', spec.frozen))
            stages.append(
                Stage(name, begin, end, len(stages), frozen,
                      spec.optimizers, spec.teacher, spec.unlabelled))
        return cls(stages, key)

    # ------------------------------------------------------------------ #
    @property
    def end(self) -> int:
        return self.stages[-1].end

    @property
    def names(self) -> Tuple[str, ...]:
        return tuple(s.name for s in self.stages)

    def at(self, iteration: int) -> Stage:
        """The stage iteration ``iteration`` belongs to (the last one once
        training is over)."""
        if iteration < 0:
            raise ValueError(f'iteration must be >= 0, got {iteration}')
        return self.stages[bisect.bisect_right(self._begins, iteration) - 1]

    def teacher_begin(self) -> Optional[int]:
        """The first iteration of the first stage with a teacher."""
        return next((s.begin for s in self.stages if s.teacher), None)

    def check_max_iters(self, max_iters: int,
                        key: str = 'train_cfg.max_iters') -> None:
        """Iterations after the last stage are an error; a run stopping
        before the last stage ends (e.g. to resume later) is warned
        about."""
        if max_iters > self.end:
            raise ValueError(
                f'{self.key} end at iteration {self.end} but {key} is '
                f'{max_iters}: the last stage must end at max_iters')
        if max_iters < self.end:
            from mmengine.logging import print_log
            cut = [s.name for s in self.stages if s.end > max_iters]
            print_log(
                f'{key}={max_iters} stops before {self.key} end '
                f'({self.end}): stage(s) {cut} are cut short',
                logger='current', level=30)

    def __iter__(self):
        return iter(self.stages)

    def __len__(self) -> int:
        return len(self.stages)

    def __repr__(self) -> str:
        parts = ', '.join(f'{s.name}[{s.begin}, {s.end})'
                          for s in self.stages)
        return f'StageSchedule({parts})'
