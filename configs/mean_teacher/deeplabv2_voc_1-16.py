# Mean Teacher, DeepLabv2 R101, PASCAL VOC aug, blended 1/16: 662 of the 10,582 images labelled.
# EMA teacher (m = 0.99, warm-up), softmax-MSE consistency weight 1.0 with a
# sigmoid ramp-up over 3 epochs (PixelSSL), SGD lr 0.001 (head x10), wd 0.0005,
# poly 0.9, 2 labelled + 2 unlabelled images per GPU on 4 GPUs, crop
# 321x321; 20 epochs x floor(9,920 / 8) (PixelSSL) = 24800 iterations;
# PixelSSL's DeepLabv2 (output stride 16, COCO-pretrained weights), as its
# GCT config (gct/deeplabv2_voc_1-16.py) compares with.
# Train: tools/dist_train.sh configs/mean_teacher/deeplabv2_voc_1-16.py 4
_base_ = [
    '../_base_/models/deeplabv2_r101_pixelssl.py',
    '../_base_/datasets/semi_splits/voc_aug_1-16.py',
    '../_base_/schedules/semi_sgd_poly.py', '../_base_/default_runtime.py'
]
crop_size = (321, 321)
max_iters = 24800
segmentor = _base_.model
segmentor.data_preprocessor.size = crop_size
model = dict(
    _delete_=True,
    type='MeanTeacher',
    segmentor=segmentor,
    data_preprocessor=dict(
        type='mmdet.MultiBranchDataPreprocessor',
        data_preprocessor=segmentor.data_preprocessor),
    semi_train_cfg=dict(
        consistency='mse',
        unsup_weight=1.0,
        rampup=dict(kind='sigmoid', rampup_iters=3720)),
    semi_test_cfg=dict(predict_on='teacher'))
custom_hooks = [
    dict(type='EMATeacherHook', momentum=0.99, buffer_mode='ema'),
    _base_.health_hook
]
optim_wrapper = dict(optimizer=dict(lr=0.001, weight_decay=0.0005))
param_scheduler = [
    dict(type='PolyLR', power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters // 10)
