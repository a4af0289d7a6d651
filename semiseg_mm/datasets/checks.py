"""File checks of segmentation datasets: a quick one at build time, a full
scan on request.

* :func:`quick_check` (every dataset, when it is built): each image and mask
  file opens as an image (its header), is complete (PNG files end with their
  ``IEND`` chunk, JPEG files with an end-of-image marker: what an interrupted
  copy or download cuts off), and each mask is single-channel and as large as
  its image. It reads a few kilobytes per file, no pixels.
* :func:`full_scan` (``tools/check_dataset.py CONFIG``, a dataset's
  ``verify=True``, and the validation masks before training starts): the
  quick checks, then decoding every image and mask and checking the mask
  values as the loss will see them (after ``reduce_zero_label`` /
  ``label_map``).

Both collect every problem, grouped by kind, so one run lists all the bad
files, not only the first; :class:`ScanReport` turns them into one message.
"""
import os.path as osp
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

_PNG_MAGIC = b'\x89PNG\r\n\x1a\n'
_PNG_END = b'IEND\xaeB`\x82'
_JPEG_MAGIC = b'\xff\xd8'
_JPEG_END = b'\xff\xd9'
# PIL modes of one channel (palette masks are 'P', 16-bit ones 'I;16')
SINGLE_CHANNEL_MODES = ('1', 'L', 'P', 'I', 'F', 'I;16', 'I;16L', 'I;16B',
                        'I;16N')
#: how many files of each problem the message names
SHOW = 3


@dataclass
class ScanReport:
    """Problems found in a dataset's files, grouped by kind."""
    name: str
    images: int = 0
    masks: int = 0
    seconds: float = 0.0
    problems: Dict[str, List[str]] = field(default_factory=OrderedDict)

    def add(self, kind: str, what: str) -> None:
        self.problems.setdefault(kind, []).append(what)

    @property
    def ok(self) -> bool:
        return not self.problems

    def message(self) -> str:
        lines = [f'{self.name}: {sum(map(len, self.problems.values()))} '
                 f'problem(s) in {self.images} image(s) and {self.masks} '
                 'mask(s):']
        for kind, items in self.problems.items():
            shown = '; '.join(items[:SHOW])
            more = f' (and {len(items) - SHOW} more)' if len(
                items) > SHOW else ''
            lines.append(f'  - {len(items)} {kind}: {shown}{more}')
        return '\n'.join(lines)

    def summary(self) -> str:
        state = 'ok' if self.ok else 'FAILED'
        return (f'{self.name}: {self.images} image(s), {self.masks} mask(s) '
                f'checked in {self.seconds:.1f} s: {state}')


def _complete(path: str, head: bytes, f) -> Optional[str]:
    """Why the file is incomplete, or None. ``f`` is open at any position."""
    if head.startswith(_PNG_MAGIC):
        f.seek(-len(_PNG_END), 2)
        if f.read() != _PNG_END:
            return 'truncated PNG (no IEND chunk at the end)'
    elif head.startswith(_JPEG_MAGIC):
        size = f.seek(0, 2)
        f.seek(max(0, size - 1024))
        if _JPEG_END not in f.read():
            return 'truncated JPEG (no end-of-image marker)'
    return None


def file_header(path: str) -> Tuple[Optional[Tuple[int, int, str]],
                                    Optional[str]]:
    """``((width, height, mode), None)`` from the header of an image file,
    or ``(None, why)`` when it is empty, unreadable or incomplete."""
    from PIL import Image
    try:
        with open(path, 'rb') as f:
            head = f.read(16)
            if not head:
                return None, 'empty file'
            f.seek(0)
            try:
                with Image.open(f) as img:
                    info = (img.size[0], img.size[1], img.mode)
            except Exception as e:  # PIL raises several kinds
                return None, f'not a readable image ({e})'
            why = _complete(path, head, f)
    except OSError as e:
        return None, f'cannot be read ({e})'
    return (info, None) if why is None else (None, why)


def _sample_paths(
        infos: Iterable[dict]) -> List[Tuple[str, Optional[str], Optional[int]]]:
    """(image, mask, the mask's label channel) of each info; the channel is
    set for multi-channel masks that hold the class id in one channel
    (SYNTHIA)."""
    return [(d['img_path'], d.get('seg_map_path'), d.get('label_channel'))
            for d in infos]


def _map(fn, items: Sequence, workers: int) -> List:
    """``fn`` over ``items`` in threads (decoding and file reads release
    the GIL)."""
    if workers <= 1 or len(items) < 64:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(fn, items, chunksize=32))


def _check_pair(pair: Tuple[Optional[str],
                             Optional[str]]) -> List[Tuple[str, str]]:
    """Quick-check problems of one (image, mask) pair; a ``None`` path is
    not checked."""
    img_path, seg_path, *rest = pair
    channel = rest[0] if rest else None
    problems = []
    img = None
    if img_path is not None:
        img, why = file_header(img_path)
        if why:
            problems.append(('unreadable image(s)', f'{img_path}: {why}'))
    if seg_path is None:
        return problems
    seg, why = file_header(seg_path)
    if why:
        problems.append(('unreadable mask(s)', f'{seg_path}: {why}'))
        return problems
    if channel is None and seg[2] not in SINGLE_CHANNEL_MODES:
        problems.append(('mask(s) with several channels',
                         f'{seg_path}: mode {seg[2]}'))
    if img is not None and img[:2] != seg[:2]:
        problems.append(('mask(s) of another size than their image',
                         f'{seg_path} is {seg[0]}x{seg[1]}, {img_path} is '
                         f'{img[0]}x{img[1]} (width x height)'))
    return problems


def quick_check(name: str, infos: Sequence[dict],
                workers: int = 4) -> ScanReport:
    """Header and completeness checks of every image and mask in ``infos``
    (mmseg data infos with ``img_path`` and, for labelled sets,
    ``seg_map_path``)."""
    start = time.perf_counter()
    pairs = _sample_paths(infos)
    report = ScanReport(
        name,
        images=len(pairs),
        masks=sum(p[1] is not None for p in pairs))
    for problems in _map(_check_pair, pairs, workers):
        for kind, what in problems:
            report.add(kind, what)
    report.seconds = time.perf_counter() - start
    return report


def loaded_label_values(values: np.ndarray, reduce_zero_label: bool,
                        label_map: Optional[dict],
                        id_map: Optional[str] = None) -> np.ndarray:
    """The values mmseg's ``LoadAnnotations`` turns the file values
    ``values`` into (``label_map`` first, then ``reduce_zero_label``);
    with ``id_map`` as ``LoadMappedAnnotations`` does (the raw-id table
    first; values beyond it are returned as -1)."""
    out = np.asarray(values, dtype=np.int64).copy()
    if id_map:
        from .uda_datasets import label_lut
        lut = label_lut(id_map).astype(np.int64)
        inside = (out >= 0) & (out < len(lut))
        out = np.where(inside, lut[np.clip(out, 0, len(lut) - 1)], -1)
    if label_map:
        src = out.copy()
        for old, new in label_map.items():
            out[src == old] = new
    if reduce_zero_label:
        out[out == 0] = 255
        out = out - 1
        out[out == 254] = 255
    return out


def _mask_values(seg: np.ndarray) -> np.ndarray:
    if seg.dtype == np.uint8:
        return np.flatnonzero(np.bincount(seg.ravel(), minlength=256))
    return np.unique(seg)


@dataclass
class LabelRule:
    """What a dataset's masks may hold after loading."""
    num_classes: int
    ignore_index: int = 255
    reduce_zero_label: bool = False
    label_map: Optional[dict] = None
    #: raw-id mapping of ``LoadMappedAnnotations`` (``GTA5Dataset``, ...)
    id_map: Optional[str] = None
    #: channel (RGB order) of multi-channel masks that holds the id
    label_channel: Optional[int] = None

    def bad_values(self, file_values: np.ndarray) -> List[int]:
        loaded = loaded_label_values(file_values, self.reduce_zero_label,
                                     self.label_map, self.id_map)
        return sorted({
            int(v)
            for v in loaded
            if (v < 0 or v >= self.num_classes) and v != self.ignore_index
        })


def _scan_pair(args) -> List[Tuple[str, str]]:
    """Full-scan problems of one (image, mask) pair: the quick checks, then
    (for files that pass them) decoding and the mask values."""
    (img_path, seg_path, channel), rule, images = args
    problems = _check_pair((img_path if images else None, seg_path, channel))
    if problems:
        return problems
    import cv2
    from PIL import Image
    size = None
    if images:
        img = cv2.imread(img_path, cv2.IMREAD_COLOR)
        if img is None:
            problems.append(('image(s) that do not decode', img_path))
        else:
            size = img.shape[:2]
    if seg_path is None:
        return problems
    try:
        if rule.label_channel is None:
            with Image.open(seg_path) as m:
                seg = np.asarray(m)
        else:  # the id in one channel of a (16-bit) colour image
            seg = cv2.imread(seg_path, cv2.IMREAD_UNCHANGED)
            if seg is None or seg.ndim != 3:
                raise ValueError('expected a multi-channel label image, got '
                                 f'{None if seg is None else seg.shape}')
            seg = seg[..., seg.shape[-1] - 1 - rule.label_channel]
    except Exception as e:
        problems.append(('mask(s) that do not decode', f'{seg_path}: {e}'))
        return problems
    if seg.ndim != 2:
        problems.append(('mask(s) with several channels',
                         f'{seg_path}: shape {seg.shape}'))
        return problems
    if size is not None and seg.shape != size:
        problems.append(('mask(s) of another size than their image',
                         f'{seg_path} is {seg.shape[1]}x{seg.shape[0]}, '
                         f'{img_path} is {size[1]}x{size[0]}'))
    bad = rule.bad_values(_mask_values(seg))
    if bad:
        problems.append((
            'mask(s) with values outside [0, num_classes) other than the '
            f'ignore index {rule.ignore_index}',
            f'{seg_path}: {bad[:8]}'))
    return problems


def full_scan(name: str,
              infos: Sequence[dict],
              rule: LabelRule,
              images: bool = True,
              workers: int = 4) -> ScanReport:
    """The quick checks, then decode every image (``images``) and mask of
    ``infos`` and check the masks' channels, sizes and values against
    ``rule``."""
    start = time.perf_counter()
    pairs = _sample_paths(infos)
    report = ScanReport(
        name,
        images=len(pairs) if images else 0,
        masks=sum(p[1] is not None for p in pairs))
    for problems in _map(_scan_pair, [(p, rule, images) for p in pairs],
                         workers):
        for kind, what in problems:
            report.add(kind, what)
    report.seconds = time.perf_counter() - start
    return report


def label_rule(dataset) -> LabelRule:
    """The :class:`LabelRule` of an mmseg dataset (its classes, ignore index,
    ``reduce_zero_label`` and ``label_map``)."""
    return LabelRule(
        num_classes=len(dataset.metainfo['classes']),
        ignore_index=getattr(dataset, 'ignore_index', 255),
        reduce_zero_label=bool(getattr(dataset, 'reduce_zero_label', False)),
        label_map=getattr(dataset, 'label_map', None),
        id_map=getattr(dataset, 'id_map', None) or None,
        label_channel=getattr(dataset, 'label_channel', None))


def leaf_datasets(dataset, name: str = 'dataset') -> List[Tuple[str, object]]:
    """``(name, dataset)`` of the image datasets inside dataset wrappers
    (``ConcatDataset``/``SemiDataset``, ``RepeatDataset``,
    ``ClassBalancedDataset``)."""
    inner = getattr(dataset, 'datasets', None)
    if inner is not None:
        labels = getattr(dataset, 'source_names', None) or [
            str(i) for i in range(len(inner))
        ]
        out = []
        for label, d in zip(labels, inner):
            out += leaf_datasets(d, f'{name}.{label}')
        return out
    if getattr(dataset, 'dataset', None) is not None:
        return leaf_datasets(dataset.dataset, f'{name}.dataset')
    return [(name, dataset)]


def dataset_infos(dataset) -> List[dict]:
    """Every data info of a (fully initialised) mmengine dataset."""
    if hasattr(dataset, 'full_init'):
        dataset.full_init()
    return [dataset.get_data_info(i) for i in range(len(dataset))]


def describe(dataset) -> str:
    root = getattr(dataset, 'data_root', None)
    img = getattr(dataset, 'data_prefix', {}).get('img_path', '')
    where = osp.relpath(img, root) if root and img.startswith(
        str(root)) else img
    return f'{type(dataset).__name__}({where!r})'
