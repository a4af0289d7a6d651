# DACS, GTA5 -> Cityscapes (Tranheden et al., WACV 2021; vikolss/DACS,
# configs/configUDA.json): DeepLabv2 R101 with one ASPP classifier (no conv4
# head), 2 GTA5 + 2 Cityscapes images per batch, GTA5 resized to 1280x720
# and Cityscapes to 1024x512, both randomly cropped to 512x512, no flips;
# mixed images from ClassMix (half the classes of each GTA5 crop pasted into
# a Cityscapes crop), colour jitter (0.25, p 0.8) and blur (p 0.5); target
# pixels labelled by the EMA teacher (0.99) and weighted by the share of
# target pixels above 0.968 confidence; SGD 2.5e-4 (head x10), momentum
# 0.9, weight decay 5e-4, poly 0.9 over 250k iterations.
# Paper: 52.1 mIoU (19 classes). Train: tools/train.py this config.
_base_ = [
    '../_base_/models/deeplabv2_r101_multilevel.py',
    '../_base_/datasets/uda_gta2cityscapes.py',
    '../_base_/schedules/sgd_poly.py', '../_base_/default_runtime.py',
    '../_base_/uda/dacs.py'
]
crop_size = (512, 512)
# every crop is 512x512, a multiple of the preprocessor's size_divisor 8
model = dict(
    _base_.dacs,
    _delete_=True,
    segmentor=dict(_base_.model, auxiliary_head=None))
source_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadMappedAnnotations'),
    dict(type='Resize', scale=_base_.source_size, keep_ratio=False),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(
        type='mmdet.MultiBranch',
        branch_field=_base_.branch_field,
        source=[dict(type='PackSegInputs')]),
]
target_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=_base_.target_size, keep_ratio=False),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(
        type='mmdet.MultiBranch',
        branch_field=_base_.branch_field,
        target=[dict(type='PackSegInputs')]),
]
train_dataloader = dict(
    batch_size=4,
    sampler=dict(batch_size=4, source_ratio=[2, 2]),
    dataset=dict(
        source=dict(pipeline=source_pipeline),
        target=dict(pipeline=target_pipeline)))
optim_wrapper = dict(
    optimizer=dict(lr=2.5e-4, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=250000,
         by_epoch=False)
]
train_cfg = dict(max_iters=250000, val_interval=5000)
default_hooks = dict(
    checkpoint=dict(interval=5000, save_best='mIoU', rule='greater'))
