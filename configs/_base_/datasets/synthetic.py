# The procedural shapes set (`python tools/make_synthetic.py`): 4800 train /
# 200 val / 1000 test images of 64x64 px, 6 classes. The labelled subset
# comes from a split file written by make_synthetic.py
# (`splits/<1-16>_seed<k>/`). Hyperparameters are chosen on val (what
# training validates on); results are reported on test (tools/test.py; the
# label-efficiency benchmark evaluates both). The shape-only style lives in
# data/synthetic_shapes: point data_root there (or use
# `tools/label_efficiency.py --style shapes`).
dataset_type = 'SyntheticShapesDataset'
data_root = 'data/synthetic'
crop_size = (64, 64)
# Objects already vary in scale, rotation and colour; random rescaling on top
# slowed the from-scratch CPU model down (full labels, 1000 iterations:
# 32.5 mIoU with RandomResize(0.75-1.5) + crop vs 50.8 with flips only).
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='img_dir/train', seg_map_path='ann_dir/train'),
        ann_file='splits/1-16_seed0/labeled.txt',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=test_pipeline))
# the val loader on the test split
test_dataloader = dict(
    val_dataloader,
    dataset=dict(
        val_dataloader['dataset'],
        data_prefix=dict(
            img_path='img_dir/test', seg_map_path='ann_dir/test')))
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
