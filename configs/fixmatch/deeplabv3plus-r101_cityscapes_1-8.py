# FixMatch (UniMatch's strong-view branch), DeepLabv3+ R101, Cityscapes, 1/8: 372 labelled.
# Pseudo-labels from the model itself on the weak view (UniMatch), confidence
# >= 0.0, CE on the strong view with CutMix, weight 1; SGD lr 0.005 (head
# x10), wd 0.0001, poly 0.9, 2 + 2 images per GPU on 4 GPUs, crop 512x1024;
# 240 epochs x ceil(2,603 / 8) = 78240 iterations.
# Train: tools/dist_train.sh configs/fixmatch/deeplabv3plus-r101_cityscapes_1-8.py 4
_base_ = [
    '../_base_/models/deeplabv3plus_r101.py',
    '../_base_/datasets/semi_splits/cityscapes_1-8.py',
    '../_base_/schedules/semi_sgd_poly.py', '../_base_/default_runtime.py'
]
crop_size = (512, 1024)
max_iters = 78240
segmentor = _base_.model
segmentor.data_preprocessor.size = crop_size
segmentor.decode_head.num_classes = 19
segmentor.auxiliary_head.num_classes = 19
model = dict(
    _delete_=True,
    type='FixMatch',
    segmentor=segmentor,
    data_preprocessor=dict(
        type='mmdet.MultiBranchDataPreprocessor',
        data_preprocessor=segmentor.data_preprocessor),
    # UniMatch's threshold for this dataset
    pseudo_label_filter=dict(type='ConfidenceFilter', threshold=0.0),
    semi_train_cfg=dict(
        pseudo_source='student', cutmix=True, unsup_weight=1.0),
    semi_test_cfg=dict(predict_on='student'))
custom_hooks = [_base_.health_hook]
optim_wrapper = dict(optimizer=dict(lr=0.005, weight_decay=0.0001))
param_scheduler = [
    dict(type='PolyLR', power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters // 10)
# a single model: plain validation, best checkpoint by its mIoU
val_cfg = dict(_delete_=True, type='ValLoop')
default_hooks = dict(checkpoint=dict(save_best='mIoU'))
