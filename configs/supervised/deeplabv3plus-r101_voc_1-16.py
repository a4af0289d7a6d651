# Supervised-only DeepLabv3+ R101 on 1/16 of VOC aug (662 labelled images),
# crop 512, batch 4 per GPU x 4 GPUs, SGD lr 0.01 (head x10), poly, 40k
# iterations: the "SupOnly" reference of CPS/UniMatch-style tables.
_base_ = [
    '../_base_/models/deeplabv3plus_r101.py', '../_base_/datasets/voc_aug.py',
    '../_base_/schedules/sgd_poly.py', '../_base_/default_runtime.py'
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(2048, 512),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=4,
    dataset=dict(
        ann_file='splits/1-16_seed0/labeled.txt', pipeline=train_pipeline))
optim_wrapper = dict(
    optimizer=dict(lr=0.01, momentum=0.9, weight_decay=5e-4),
    paramwise_cfg=dict(
        custom_keys=dict(
            decode_head=dict(lr_mult=10.0),
            auxiliary_head=dict(lr_mult=10.0))))
