# The synthetic domain pair (`python tools/make_synthetic.py --only uda`):
# a source with pixel noise 6 (2000 labelled images) and a hue-shifted,
# blurred target with noise 14 (2000 train images whose masks adaptation never reads, 200
# val, 500 test), 64x64 px, the 6 classes of the synthetic set. Every batch
# holds 8 source + 8 target images (UDADataset + SemiSourceSampler), each
# domain with its own pipeline; MultiBranch names them 'source' and
# 'target'. Hyperparameters are chosen on target val (what training
# validates on); results are reported on target test.
dataset_type = 'SyntheticShapesDataset'
data_root = 'data/synthetic_uda'
crop_size = (64, 64)
source_bs = 8
target_bs = 8
branch_field = ['source', 'target']
source_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='mmdet.MultiBranch',
        branch_field=branch_field,
        source=[dict(type='PackSegInputs')]),
]
target_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='mmdet.MultiBranch',
        branch_field=branch_field,
        target=[dict(type='PackSegInputs')]),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
source_dataset = dict(
    type=dataset_type,
    data_root=data_root + '/source',
    data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'),
    pipeline=source_pipeline)
target_dataset = dict(
    type=dataset_type,
    data_root=data_root + '/target',
    data_prefix=dict(img_path='img_dir/train'),
    with_label=False,
    pipeline=target_pipeline)
train_dataloader = dict(
    batch_size=source_bs + target_bs,
    num_workers=0,
    sampler=dict(
        type='SemiSourceSampler',
        batch_size=source_bs + target_bs,
        source_ratio=[source_bs, target_bs]),
    dataset=dict(
        type='UDADataset', source=source_dataset, target=target_dataset))
val_dataloader = dict(
    batch_size=16,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root + '/target',
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=test_pipeline))
# the val loader on the target test split
test_dataloader = dict(
    val_dataloader,
    dataset=dict(
        val_dataloader['dataset'],
        data_prefix=dict(
            img_path='img_dir/test', seg_map_path='ann_dir/test')))
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
