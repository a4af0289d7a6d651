# Supervised-only baseline of the Soft Teacher benchmark: the CPU Faster
# R-CNN on the labelled 5 % of the synthetic detection set alone (fold 1),
# 4 images per batch (the labelled part of Soft Teacher's 4 + 4), same
# schedule and evaluation.
_base_ = [
    '../_base_/det/faster-rcnn_tiny.py', '../_base_/det/synthetic_det_semi.py',
    '../_base_/det/schedule_cpu.py', '../_base_/det/default_runtime.py'
]
sup_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomResize', scale=_base_.scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandAugment', aug_space=_base_.color_space, aug_num=1),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1e-2, 1e-2)),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(
    _delete_=True,
    batch_size=_base_.labeled_bs,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(_base_.labeled_dataset, pipeline=sup_pipeline))
