# GTA5 -> Cityscapes, as AdaptSegNet and ADVENT train it: 1 GTA5 image
# (resized to 1280x720) + 1 Cityscapes train image (resized to 1024x512,
# masks never read) per batch, no flips or crops; validation on the 500
# Cityscapes val images predicted at 1024x512, evaluated at 2048x1024.
# GTA5 labels hold Cityscapes label ids: GTA5Dataset + LoadMappedAnnotations
# map them to the 19 train ids (others ignored). Layouts: docs/get_started.md.
source_type = 'GTA5Dataset'
source_root = 'data/gta5'
target_type = 'CityscapesSplitDataset'
target_root = 'data/cityscapes'
source_size = (1280, 720)
target_size = (1024, 512)
source_bs = 1
target_bs = 1
branch_field = ['source', 'target']
source_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadMappedAnnotations'),
    dict(type='Resize', scale=source_size, keep_ratio=False),
    dict(
        type='mmdet.MultiBranch',
        branch_field=branch_field,
        source=[dict(type='PackSegInputs')]),
]
target_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=target_size, keep_ratio=False),
    dict(
        type='mmdet.MultiBranch',
        branch_field=branch_field,
        target=[dict(type='PackSegInputs')]),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=target_size, keep_ratio=False),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
source_dataset = dict(
    type=source_type,
    data_root=source_root,
    data_prefix=dict(img_path='images', seg_map_path='labels'),
    pipeline=source_pipeline)
target_dataset = dict(
    type=target_type,
    data_root=target_root,
    data_prefix=dict(img_path='leftImg8bit/train'),
    with_label=False,
    pipeline=target_pipeline)
train_dataloader = dict(
    batch_size=source_bs + target_bs,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(
        type='SemiSourceSampler',
        batch_size=source_bs + target_bs,
        source_ratio=[source_bs, target_bs]),
    dataset=dict(
        type='UDADataset', source=source_dataset, target=target_dataset))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=target_type,
        data_root=target_root,
        data_prefix=dict(
            img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
