"""Procedural datasets that stand in for real ones on machines without data.

Three generators, all deterministic from a seed (each image draws from its
own ``numpy.random.Generator`` seeded by ``(seed, split, index)``, so an
image does not depend on how many others are generated):

* :func:`make_segmentation_set`: shapes over varied backgrounds, written in
  mmseg's layout (``img_dir/{train,val}``, ``ann_dir/{train,val}``);
* :func:`make_domain_pair`: a *source* domain rendered with little sensor
  noise and a noisier, recoloured, blurred *target* domain with the same
  classes, textures and layout statistics, for unsupervised domain
  adaptation;
* :func:`make_detection_set`: the same scenes with COCO-format boxes.

Classes are told apart by shape and, less reliably, by texture: each class
has a texture family (flat, stripes, checker, dots) that its objects show
with probability ``class_texture_prob`` (otherwise a random family), as real
classes differ in appearance as well as outline. Colour, texture period and
orientation, scale, rotation, clutter and background vary per object/image
and carry no class information, so a model trained on few labelled images
generalises poorly while the unlabelled images cover the variation.
"""
import json
import math
import os
import os.path as osp
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import cv2
import numpy as np

CLASSES: Tuple[str, ...] = ('background', 'disc', 'square', 'triangle',
                            'ring', 'cross')
PALETTE: List[List[int]] = [[0, 0, 0], [230, 25, 75], [60, 180, 75],
                            [255, 225, 25], [0, 130, 200], [245, 130, 48]]
TEXTURES: Tuple[str, ...] = ('flat', 'stripes', 'checker', 'dots')
#: the texture family of each object class (index into CLASSES)
CLASS_TEXTURE: Dict[int, str] = {
    1: 'flat',
    2: 'stripes',
    3: 'checker',
    4: 'flat',
    5: 'dots'
}
FORMAT_VERSION = 2
META_FILE = 'meta.json'
_SPLIT_IDS = {'train': 0, 'val': 1, 'test': 2}


@dataclass
class SceneStyle:
    """How scenes of one domain look. Every field is a generator option."""
    size: int = 64
    min_objects: int = 1
    max_objects: int = 4
    min_radius: float = 7.0
    max_radius: float = 16.0
    # probability that an object shows its class's texture family
    # (CLASS_TEXTURE); otherwise the family is drawn uniformly from TEXTURES
    class_texture_prob: float = 0.75
    # background: low-frequency colour field amplitude and pixel noise std
    bg_field_amp: float = 60.0
    noise_std: float = 8.0
    # thin distractor strokes and blobs that belong to the background class
    max_distractors: int = 3
    # minimal colour distance between an object and the background under it
    min_contrast: float = 60.0
    # photometric distortion applied to the finished image (target domain)
    hue_shift: float = 0.0
    blur_sigma: float = 0.0
    flat_shading: bool = False


@dataclass
class SegSetSpec:
    """Size and look of a generated segmentation set.

    ``val`` is where hyperparameters are chosen, ``test`` where results are
    reported (``tools/label_efficiency.py`` evaluates both).
    """
    num_train: int = 4800
    num_val: int = 200
    num_test: int = 1000
    seed: int = 0
    style: SceneStyle = field(default_factory=SceneStyle)


@dataclass
class SegStyle:
    """A named look of the segmentation set (``tools/make_synthetic.py``
    writes each under ``<out>/<folder>``)."""
    folder: str
    style: SceneStyle
    seed_offset: int = 0  # other scenes than the default set's
    description: str = ''


#: the benchmark's styles: ``textured`` (classes differ by shape and by a
#: class texture on 75 % of their objects; the set the methods were
#: developed on) and ``shapes`` (shape-only classes: every object draws its
#: texture at random, so texture carries no class information; other
#: scenes; the robustness set nothing was tuned on); ``demo`` (the
#: textured look on a 32 px canvas with up to two objects near the
#: benchmark's pixel scale, other scenes: ``make demo`` trains the
#: benchmark's configs on it at about a third of the cost per iteration;
#: objects scaled down with the canvas left FixMatch no gain,
#: docs/benchmarks.md "make demo")
SEG_STYLES: Dict[str, SegStyle] = {
    'textured':
    SegStyle('synthetic', SceneStyle(),
             description='shape + class texture (75 %)'),
    'shapes':
    SegStyle('synthetic_shapes', SceneStyle(class_texture_prob=0.0),
             seed_offset=1, description='shape only (random textures)'),
    'demo':
    SegStyle('synthetic_demo',
             SceneStyle(size=32, max_objects=2, min_radius=6.0,
                        max_radius=12.0, max_distractors=2),
             seed_offset=2,
             description='shape + class texture (75 %), 32 px'),
}


def _rng(seed: int, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, _SPLIT_IDS[split], index])


def _shape_polygon(cls: int, radius: float, angle: float,
                   rng: np.random.Generator) -> Optional[np.ndarray]:
    """Unit polygon of a class (None for round classes), scaled/rotated."""
    if cls == 2:  # square (slightly rectangular)
        aspect = rng.uniform(0.75, 1.0)
        pts = np.array([[-1, -aspect], [1, -aspect], [1, aspect],
                        [-1, aspect]], float) * 0.85
    elif cls == 3:  # triangle
        t = np.deg2rad([90, 210, 330])
        pts = np.stack([np.cos(t), np.sin(t)], 1) * 1.05
    elif cls == 5:  # cross (plus sign)
        w = rng.uniform(0.28, 0.38)
        pts = np.array([[-w, -1], [w, -1], [w, -w], [1, -w], [1, w], [w, w],
                        [w, 1], [-w, 1], [-w, w], [-1, w], [-1, -w],
                        [-w, -w]], float)
    else:
        return None
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[c, -s], [s, c]])
    return pts @ rot.T * radius


def _object_mask(cls: int, cx: float, cy: float, radius: float, angle: float,
                 size: int, rng: np.random.Generator) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    shift = 4  # sub-pixel precision for cv2 drawing
    centre = (int(round(cx * (1 << shift))), int(round(cy * (1 << shift))))
    if cls == 1:  # disc
        cv2.circle(mask, centre, int(radius * (1 << shift)), 1, -1,
                   cv2.LINE_8, shift)
    elif cls == 4:  # ring
        cv2.circle(mask, centre, int(radius * (1 << shift)), 1, -1,
                   cv2.LINE_8, shift)
        inner = radius * rng.uniform(0.45, 0.6)
        cv2.circle(mask, centre, int(inner * (1 << shift)), 0, -1,
                   cv2.LINE_8, shift)
    else:
        pts = _shape_polygon(cls, radius, angle, rng) + np.array([cx, cy])
        cv2.fillPoly(mask, [np.round(pts * (1 << shift)).astype(np.int32)],
                     1, cv2.LINE_8, shift)
    return mask.astype(bool)


def _background(style: SceneStyle, rng: np.random.Generator) -> np.ndarray:
    size = style.size
    base = rng.uniform(40, 215, size=3)
    if style.flat_shading:
        return np.broadcast_to(base, (size, size, 3)).astype(np.float32)
    # smooth low-frequency colour field: bicubic upsampling of a 3x3 grid
    coarse = rng.normal(0, style.bg_field_amp / 2, size=(3, 3, 3))
    field_ = cv2.resize(
        coarse.astype(np.float32), (size, size),
        interpolation=cv2.INTER_CUBIC)
    return np.clip(base + field_, 0, 255).astype(np.float32)


def _contrasting_colour(under: np.ndarray, style: SceneStyle,
                        rng: np.random.Generator) -> np.ndarray:
    colour = rng.uniform(0, 255, size=3)
    for _ in range(20):
        if np.linalg.norm(colour - under) >= style.min_contrast:
            break
        colour = rng.uniform(0, 255, size=3)
    return colour


def _texture(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """A {0, 1} pattern of the given family with random period/orientation
    (``flat``: all ones)."""
    if kind == 'flat':
        return np.ones((size, size), np.float32)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    period = rng.uniform(3.0, 7.0)
    theta = rng.uniform(0, np.pi)
    u = xx * math.cos(theta) + yy * math.sin(theta)
    v = -xx * math.sin(theta) + yy * math.cos(theta)
    if kind == 'stripes':
        return (np.sin(2 * np.pi * u / period) > 0).astype(np.float32)
    if kind == 'checker':
        return ((np.floor(u / period) + np.floor(v / period)) % 2).astype(
            np.float32)
    if kind == 'dots':
        du = u / period - np.floor(u / period) - 0.5
        dv = v / period - np.floor(v / period) - 0.5
        return (du**2 + dv**2 < 0.09).astype(np.float32)
    raise ValueError(f'unknown texture {kind!r}; expected one of {TEXTURES}')


def _texture_kind(cls: int, style: SceneStyle,
                  rng: np.random.Generator) -> str:
    if style.flat_shading:
        return 'flat'
    if rng.random() < style.class_texture_prob:
        return CLASS_TEXTURE[cls]
    return TEXTURES[int(rng.integers(len(TEXTURES)))]


def _draw_distractors(img: np.ndarray, style: SceneStyle,
                      rng: np.random.Generator) -> None:
    size = style.size
    for _ in range(rng.integers(0, style.max_distractors + 1)):
        colour = tuple(float(c) for c in rng.uniform(0, 255, size=3))
        if rng.random() < 0.6:  # thin stroke
            p1 = tuple(int(v) for v in rng.integers(0, size, 2))
            p2 = tuple(int(v) for v in rng.integers(0, size, 2))
            cv2.line(img, p1, p2, colour, int(rng.integers(1, 3)))
        else:  # small irregular blob, smaller than any object
            n = int(rng.integers(4, 7))
            c = rng.uniform(0, size, 2)
            r = rng.uniform(1.5, style.min_radius * 0.5, n)
            t = np.sort(rng.uniform(0, 2 * np.pi, n))
            pts = c + np.stack([np.cos(t) * r, np.sin(t) * r], 1)
            cv2.fillPoly(img, [pts.astype(np.int32)], colour)


def _photometric(img: np.ndarray, style: SceneStyle,
                 rng: np.random.Generator) -> np.ndarray:
    if style.hue_shift:
        hsv = cv2.cvtColor(
            np.clip(img, 0, 255).astype(np.uint8), cv2.COLOR_RGB2HSV)
        hsv = hsv.astype(np.int32)
        hsv[..., 0] = (hsv[..., 0] + int(style.hue_shift)) % 180
        img = cv2.cvtColor(hsv.astype(np.uint8),
                           cv2.COLOR_HSV2RGB).astype(np.float32)
    if style.blur_sigma:
        img = cv2.GaussianBlur(img, (0, 0), style.blur_sigma)
    if style.noise_std:
        img = img + rng.normal(0, style.noise_std, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def render_scene(style: SceneStyle, rng: np.random.Generator
                 ) -> Tuple[np.ndarray, np.ndarray, List[dict]]:
    """Draw one scene.

    Returns:
        (image HxWx3 uint8 RGB, label HxW uint8 in [0, len(CLASSES)),
        objects: list of dicts with ``category_id`` and visible ``bbox``
        [x, y, w, h] for the detection set).
    """
    size = style.size
    img = _background(style, rng).copy()
    if not style.flat_shading:
        _draw_distractors(img, style, rng)
    label = np.zeros((size, size), np.uint8)
    instance = np.zeros((size, size), np.int32)
    n = int(rng.integers(style.min_objects, style.max_objects + 1))
    classes = rng.integers(1, len(CLASSES), size=n)
    for k, cls in enumerate(classes, start=1):
        radius = rng.uniform(style.min_radius, style.max_radius)
        margin = radius * 0.6
        cx, cy = rng.uniform(margin, size - margin, 2)
        mask = _object_mask(int(cls), cx, cy, radius,
                            rng.uniform(0, 2 * np.pi), size, rng)
        if mask.sum() < 6:
            continue
        under = img[mask].mean(0)
        colour = _contrasting_colour(under, style, rng)
        kind = _texture_kind(int(cls), style, rng)
        if kind == 'flat':
            img[mask] = colour
        else:
            second = _contrasting_colour(under, style, rng)
            tex = _texture(kind, size, rng)[..., None]
            paint = colour * tex + second * (1 - tex)
            img[mask] = paint[mask]
        label[mask] = cls
        instance[mask] = k
    objects = []
    for k, cls in enumerate(classes, start=1):
        ys, xs = np.nonzero(instance == k)
        if len(xs) < 6:  # fully occluded or degenerate
            continue
        x0, y0 = int(xs.min()), int(ys.min())
        objects.append(
            dict(
                category_id=int(cls),
                bbox=[x0, y0,
                      int(xs.max()) - x0 + 1,
                      int(ys.max()) - y0 + 1],
                area=int(len(xs))))
    img = _photometric(img, style, rng)
    return img, label, objects


def _progress(it: Iterable, total: int, desc: str, show: bool) -> Iterable:
    if not show:
        return it
    from tqdm import tqdm
    return tqdm(it, total=total, desc=desc, unit='img', leave=False)


def _write_pair(img: np.ndarray, label: np.ndarray, img_path: str,
                ann_path: Optional[str]) -> None:
    cv2.imwrite(img_path, cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    if ann_path is not None:
        cv2.imwrite(ann_path, label)


def _write_split(root: str, split: str, num: int, seed: int,
                 style: SceneStyle, progress: bool,
                 with_ann: bool = True,
                 on_scene: Optional[Callable] = None) -> None:
    img_dir = osp.join(root, 'img_dir', split)
    ann_dir = osp.join(root, 'ann_dir', split)
    os.makedirs(img_dir, exist_ok=True)
    if with_ann:
        os.makedirs(ann_dir, exist_ok=True)
    for i in _progress(range(num), num, f'{osp.basename(root)}/{split}',
                       progress):
        img, label, objects = render_scene(style, _rng(seed, split, i))
        name = f'{i:05d}'
        _write_pair(img, label, osp.join(img_dir, name + '.png'),
                    osp.join(ann_dir, name + '.png') if with_ann else None)
        if on_scene is not None:
            on_scene(split, name, img, objects)


def _meta(kind: str, **params) -> dict:
    return dict(
        kind=kind,
        format_version=FORMAT_VERSION,
        classes=list(CLASSES),
        palette=PALETTE,
        **params)


def read_meta(root: str) -> Optional[dict]:
    """The generation parameters stored with a dataset (None if absent)."""
    path = osp.join(root, META_FILE)
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def image_size(root: str) -> Optional[int]:
    """Side length of a generated segmentation set's images (its meta
    file), None when ``root`` holds none."""
    meta = read_meta(root)
    if not meta or meta.get('kind') != 'segmentation':
        return None
    return int(meta['style']['size'])


def is_up_to_date(root: str, expected: dict) -> bool:
    """Whether ``root`` holds a complete dataset generated with ``expected``
    parameters (the meta file is written last, so a crash leaves none)."""
    return read_meta(root) == json.loads(json.dumps(expected))


def make_segmentation_set(root: str,
                          spec: SegSetSpec = SegSetSpec(),
                          progress: bool = True,
                          force: bool = False) -> dict:
    """Write the synthetic segmentation set in mmseg's folder layout.

    Skips the work when ``root`` already holds the same set. Returns its meta.
    """
    meta = _meta(
        'segmentation',
        num_train=spec.num_train,
        num_val=spec.num_val,
        num_test=spec.num_test,
        seed=spec.seed,
        style=asdict(spec.style))
    if not force and is_up_to_date(root, meta):
        return meta
    _clear_meta(root)
    for split, num in (('train', spec.num_train), ('val', spec.num_val),
                       ('test', spec.num_test)):
        if num:
            _write_split(root, split, num, spec.seed, spec.style, progress)
    _write_meta(root, meta)
    return meta


#: the domain pair: the same scenes, textures, backgrounds and clutter; the
#: source is rendered with pixel noise 6, the target with noise 14, a 0.8 px
#: blur and a hue rotation. Calibrated with the source-only model of
#: configs/supervised (3000 iterations, seed 0, target test mIoU; target
#: supervised 63.7): a flat-shaded source without textures or clutter left
#: it at chance (4.8), a textured source on flat backgrounds at 10.9, one
#: without pixel noise at 23.5, noise 8 (the segmentation set's) at 50.0
#: (too close to the upper bound), noise 6 at 32.9 (docs/benchmarks.md).
SOURCE_STYLE = SceneStyle(noise_std=6.0)
TARGET_STYLE = SceneStyle(hue_shift=60, blur_sigma=0.8, noise_std=14.0)


def make_domain_pair(root: str,
                     num_source: int = 2000,
                     num_target: int = 2000,
                     num_target_val: int = 200,
                     num_target_test: int = 500,
                     seed: int = 0,
                     source_style: SceneStyle = SOURCE_STYLE,
                     target_style: SceneStyle = TARGET_STYLE,
                     progress: bool = True,
                     force: bool = False) -> dict:
    """Write ``root/source`` (labelled, :data:`SOURCE_STYLE`) and
    ``root/target`` (:data:`TARGET_STYLE`):
    train images whose masks a UDA method must not use (they exist for the
    target-supervised upper bound), a labelled val split (hyperparameters
    are chosen there) and a labelled test split (results are reported
    there).

    Both domains draw shapes, textures, sizes and positions from the same
    distributions; only the rendering (noise, blur, hue) differs.
    """
    meta = _meta(
        'domain_pair',
        num_source=num_source,
        num_target=num_target,
        num_target_val=num_target_val,
        num_target_test=num_target_test,
        seed=seed,
        source_style=asdict(source_style),
        target_style=asdict(target_style))
    if not force and is_up_to_date(root, meta):
        return meta
    _clear_meta(root)
    _write_split(
        osp.join(root, 'source'), 'train', num_source, seed, source_style,
        progress)
    # target images use a different seed stream than the source so the two
    # domains never show the same scene
    for split, num in (('train', num_target), ('val', num_target_val),
                       ('test', num_target_test)):
        _write_split(
            osp.join(root, 'target'), split, num, seed + 1, target_style,
            progress)
    _write_meta(root, meta)
    return meta


def make_detection_set(root: str,
                       num_train: int = 2000,
                       num_val: int = 200,
                       num_test: int = 500,
                       seed: int = 0,
                       style: SceneStyle = SceneStyle(),
                       progress: bool = True,
                       force: bool = False) -> dict:
    """Write the scenes with COCO-format box annotations.

    Layout: ``images/{train,val,test}/*.png`` and
    ``annotations/instances_{train,val,test}.json``; categories are the
    object classes (background excluded), ids 1..5. ``val`` is where
    hyperparameters are chosen, ``test`` where results are reported.
    """
    meta = _meta(
        'detection',
        num_train=num_train,
        num_val=num_val,
        num_test=num_test,
        seed=seed,
        style=asdict(style))
    if not force and is_up_to_date(root, meta):
        return meta
    _clear_meta(root)
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    for split, num in (('train', num_train), ('val', num_val),
                       ('test', num_test)):
        img_dir = osp.join(root, 'images', split)
        os.makedirs(img_dir, exist_ok=True)
        coco: Dict[str, list] = dict(
            images=[],
            annotations=[],
            categories=[
                dict(id=i, name=name)
                for i, name in enumerate(CLASSES) if i > 0
            ])
        for i in _progress(range(num), num, f'detection/{split}', progress):
            img, _, objects = render_scene(style, _rng(seed, split, i))
            name = f'{i:05d}.png'
            _write_pair(img, None, osp.join(img_dir, name), None)
            image_id = len(coco['images']) + 1
            coco['images'].append(
                dict(
                    id=image_id,
                    file_name=name,
                    height=style.size,
                    width=style.size))
            for obj in objects:
                coco['annotations'].append(
                    dict(
                        id=len(coco['annotations']) + 1,
                        image_id=image_id,
                        iscrowd=0,
                        **obj))
        with open(osp.join(root, 'annotations', f'instances_{split}.json'),
                  'w') as f:
            json.dump(coco, f)
    _write_meta(root, meta)
    return meta


def _clear_meta(root: str) -> None:
    path = osp.join(root, META_FILE)
    if osp.isfile(path):
        os.remove(path)


def _write_meta(root: str, meta: dict) -> None:
    os.makedirs(root, exist_ok=True)
    with open(osp.join(root, META_FILE), 'w') as f:
        json.dump(meta, f, indent=1)


def list_ids(root: str, split: str = 'train') -> Sequence[str]:
    """Image ids (file stems) of a generated split, sorted."""
    img_dir = osp.join(root, 'img_dir', split)
    return sorted(osp.splitext(f)[0] for f in os.listdir(img_dir))
