# Supervised-only DeepLabv3+ R101 on 1/8 of Cityscapes (372 labelled images),
# crop 512x1024, batch 2 per GPU x 4 GPUs, SGD lr 0.01 (head x10), poly, 80k
# iterations (mmseg's Cityscapes schedule).
_base_ = [
    '../_base_/models/deeplabv3plus_r101.py',
    '../_base_/datasets/cityscapes.py', '../_base_/schedules/sgd_poly.py',
    '../_base_/default_runtime.py'
]
crop_size = (512, 1024)
max_iters = 80000
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=19),
    auxiliary_head=dict(num_classes=19))
train_dataloader = dict(
    batch_size=2, dataset=dict(ann_file='splits/1-8_seed0/labeled.txt'))
optim_wrapper = dict(
    optimizer=dict(lr=0.01, momentum=0.9, weight_decay=5e-4),
    paramwise_cfg=dict(
        custom_keys=dict(
            decode_head=dict(lr_mult=10.0),
            auxiliary_head=dict(lr_mult=10.0))))
param_scheduler = [
    dict(type='PolyLR', power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=8000)
default_hooks = dict(checkpoint=dict(interval=8000))
