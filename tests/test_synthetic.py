import json
import os.path as osp

import cv2
import numpy as np

from semiseg_mm.datasets.synthetic import (CLASSES, SceneStyle, SegSetSpec,
                                           _rng, list_ids, make_detection_set,
                                           make_domain_pair,
                                           make_segmentation_set,
                                           render_scene)


def test_render_is_deterministic_and_labels_valid():
    a = render_scene(SceneStyle(), _rng(3, 'train', 7))
    b = render_scene(SceneStyle(), _rng(3, 'train', 7))
    c = render_scene(SceneStyle(), _rng(4, 'train', 7))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    img, label, objects = a
    assert img.shape == (64, 64, 3) and img.dtype == np.uint8
    assert label.shape == (64, 64)
    assert set(np.unique(label)) <= set(range(len(CLASSES)))
    # every listed object is visible in the label map with its class
    for obj in objects:
        x, y, w, h = obj['bbox']
        assert (label[y:y + h, x:x + w] == obj['category_id']).any()


def test_classes_all_occur():
    seen = set()
    for i in range(40):
        seen |= set(np.unique(render_scene(SceneStyle(),
                                           _rng(0, 'train', i))[1]))
    assert seen == set(range(len(CLASSES)))


def test_segmentation_set_layout_and_skip(tmp_path):
    root = str(tmp_path / 'syn')
    spec = SegSetSpec(num_train=6, num_val=2, num_test=3)
    meta = make_segmentation_set(root, spec, progress=False)
    assert list_ids(root, 'train') == [f'{i:05d}' for i in range(6)]
    assert len(list_ids(root, 'val')) == 2
    # test: scenes of their own (chosen on val, reported on test)
    assert len(list_ids(root, 'test')) == 3
    test0 = cv2.imread(osp.join(root, 'img_dir/test/00000.png'))
    assert not np.array_equal(
        test0, cv2.imread(osp.join(root, 'img_dir/val/00000.png')))
    img = cv2.imread(osp.join(root, 'img_dir/train/00000.png'))
    ann = cv2.imread(osp.join(root, 'ann_dir/train/00000.png'),
                     cv2.IMREAD_UNCHANGED)
    assert img.shape == (64, 64, 3) and ann.shape == (64, 64)
    # the stored image equals a fresh render (RGB on disk as BGR PNG)
    ref, ref_label, _ = render_scene(SceneStyle(), _rng(0, 'train', 0))
    assert np.array_equal(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), ref)
    assert np.array_equal(ann, ref_label)
    # a second call with the same spec skips (files untouched)
    mtime = osp.getmtime(osp.join(root, 'img_dir/train/00000.png'))
    assert make_segmentation_set(root, spec, progress=False) == meta
    assert osp.getmtime(osp.join(root, 'img_dir/train/00000.png')) == mtime
    # a different spec regenerates
    make_segmentation_set(
        root, SegSetSpec(num_train=7, num_val=2, num_test=3), progress=False)
    assert len(list_ids(root, 'train')) == 7


def test_shape_only_style_has_no_class_textures():
    """The robustness style: an object's texture family is drawn at random,
    independently of its class; the default style ties 75 % to the
    class."""
    from semiseg_mm.datasets.synthetic import (CLASS_TEXTURE, SEG_STYLES,
                                               _texture_kind)
    shapes = SEG_STYLES['shapes'].style
    textured = SEG_STYLES['textured'].style
    assert shapes.class_texture_prob == 0.0
    assert textured == SceneStyle()
    rng = np.random.default_rng(0)
    for style, low, high in ((shapes, 0.15, 0.35), (textured, 0.75, 0.9)):
        share = np.mean([
            _texture_kind(2, style, rng) == CLASS_TEXTURE[2]
            for _ in range(2000)
        ])
        assert low < share < high, share  # 1/4 at random, 0.75 + 1/16


def test_domain_pair_differs_in_look_not_labels(tmp_path):
    root = str(tmp_path / 'uda')
    make_domain_pair(root, num_source=4, num_target=4, num_target_val=2,
                     num_target_test=2, progress=False)
    src = cv2.imread(osp.join(root, 'source/img_dir/train/00000.png'))
    tgt = cv2.imread(osp.join(root, 'target/img_dir/train/00000.png'))

    def noise(img):  # high-frequency energy: pixel minus its 3x3 median
        img = img.astype(np.float32)
        return np.abs(img - cv2.medianBlur(img, 3)).mean()

    # the target is noisier than the source (14 vs 6) despite its blur
    assert noise(tgt) > 1.2 * noise(src)
    assert osp.isfile(osp.join(root, 'source/ann_dir/train/00003.png'))
    assert osp.isfile(osp.join(root, 'target/ann_dir/val/00001.png'))
    # a separate test split (results) besides val (hyperparameters)
    assert osp.isfile(osp.join(root, 'target/ann_dir/test/00001.png'))
    val = cv2.imread(osp.join(root, 'target/img_dir/val/00000.png'))
    test = cv2.imread(osp.join(root, 'target/img_dir/test/00000.png'))
    assert not np.array_equal(val, test)


def test_detection_set_is_coco(tmp_path):
    root = str(tmp_path / 'det')
    make_detection_set(root, num_train=5, num_val=2, num_test=2,
                       progress=False)
    with open(osp.join(root, 'annotations/instances_train.json')) as f:
        coco = json.load(f)
    assert [c['id'] for c in coco['categories']] == [1, 2, 3, 4, 5]
    assert len(coco['images']) == 5
    ids = {im['id'] for im in coco['images']}
    assert coco['annotations'] and all(
        a['image_id'] in ids and a['bbox'][2] > 0 and a['bbox'][3] > 0
        for a in coco['annotations'])
    assert osp.isfile(osp.join(root, 'images/val', '00001.png'))
    # a test split (results) besides val (hyperparameters)
    assert osp.isfile(osp.join(root, 'annotations/instances_test.json'))
    assert osp.isfile(osp.join(root, 'images/test', '00001.png'))


def test_class_texture_families():
    """Objects show their class's texture family most of the time."""
    from semiseg_mm.datasets.synthetic import _texture_kind, CLASS_TEXTURE
    rng = _rng(0, 'train', 0)
    style = SceneStyle(class_texture_prob=0.75)
    for cls, family in CLASS_TEXTURE.items():
        kinds = [_texture_kind(cls, style, rng) for _ in range(400)]
        # 0.75 + 0.25 / 4 of the draws are the class's family
        assert 0.75 < kinds.count(family) / 400 < 0.88
    flat = SceneStyle(flat_shading=True)
    assert {_texture_kind(3, flat, rng) for _ in range(20)} == {'flat'}
