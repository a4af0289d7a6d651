# FixMatch (UniMatch's strong-view branch), DeepLabv2 R101, PASCAL VOC aug, blended 1/16: 662 of the 10,582 images labelled.
# Pseudo-labels from the model itself on the weak view (UniMatch), confidence
# >= 0.95, CE on the strong view with CutMix, weight 1; SGD lr 0.001 (head
# x10), wd 0.0005, poly 0.9, 2 + 2 images per GPU on 4 GPUs, crop 321x321;
# 20 epochs x ceil(9,920 / 8) (PixelSSL) = 24800 iterations.
# Train: tools/dist_train.sh configs/fixmatch/deeplabv2_voc_1-16.py 4
_base_ = [
    '../_base_/models/deeplabv2_r101.py',
    '../_base_/datasets/semi_splits/voc_aug_1-16.py',
    '../_base_/schedules/semi_sgd_poly.py', '../_base_/default_runtime.py'
]
crop_size = (321, 321)
max_iters = 24800
segmentor = _base_.model
segmentor.data_preprocessor.size = crop_size
model = dict(
    _delete_=True,
    type='FixMatch',
    segmentor=segmentor,
    data_preprocessor=dict(
        type='mmdet.MultiBranchDataPreprocessor',
        data_preprocessor=segmentor.data_preprocessor),
    # UniMatch's threshold for this dataset
    pseudo_label_filter=dict(type='ConfidenceFilter', threshold=0.95),
    semi_train_cfg=dict(
        pseudo_source='student', cutmix=True, unsup_weight=1.0),
    semi_test_cfg=dict(predict_on='student'))
custom_hooks = [_base_.health_hook]
optim_wrapper = dict(optimizer=dict(lr=0.001, weight_decay=0.0005))
param_scheduler = [
    dict(type='PolyLR', power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters // 10)
# a single model: plain validation, best checkpoint by its mIoU
val_cfg = dict(_delete_=True, type='ValLoop')
default_hooks = dict(checkpoint=dict(save_best='mIoU'))
