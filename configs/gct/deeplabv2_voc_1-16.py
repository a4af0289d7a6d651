# GCT (Guided Collaborative Training, Ke et al. ECCV 2020), PASCAL VOC aug,
# blended 1-16: 662 of the 10,582 images labelled, 9,920 unlabelled.
# Provenance: the GCT paper and PixelSSL (ZHKKKe/PixelSSL,
# task/sseg/script/deeplabv2_pascalvoc_1-8_sslgct.py): two DeepLabv2 R101
# task models (ASPP-sum, SyncBN, separately initialised heads; PixelSSL's
# DeepLabv2: ResNet-101 at output stride 16 from the COCO-pretrained DeepLab
# weights, configs/_base_/models/deeplabv2_r101_pixelssl.py) + the flaw
# detector; task models SGD lr 2.5e-4 per GPU x 4 GPUs = 1e-3 (head x10),
# momentum 0.9, wd 5e-4, poly 0.9 per iteration; flaw detector Adam 1e-4 per
# GPU x 4 GPUs = 4e-4 (PixelSSL scales fd_lr by the GPU count too), betas
# (0.9, 0.99), poly 0.9; 2 labelled + 2 unlabelled images per GPU on
# 4 GPUs; crop 321x321, random scale 0.5-2.0, flip; xi 0.6, lambda_dc 100,
# lambda_fc 1, flaw-detector weight 10; sigmoid ramp-up over 3 epochs of the
# unlabelled set (3 x 1240 = 3720 iterations); 20 epochs x
# floor(9,920 / 8) = 24800 iterations (PixelSSL's epoch: floor(N_u / 8)).
# Where this config is not PixelSSL, on purpose: configs/gct/README.md,
# "Differences from the official code".
# Train: tools/dist_train.sh configs/gct/deeplabv2_voc_1-16.py 4
_base_ = [
    '../_base_/models/deeplabv2_r101_pixelssl.py',
    '../_base_/datasets/semi_splits/voc_aug_1-16.py',
    '../_base_/datasets/gct_views.py', '../_base_/schedules/sgd_poly.py',
    '../_base_/default_runtime.py'
]
crop_size = (321, 321)
max_iters = 24800
rampup_iters = 3720
segmentor = _base_.model
segmentor.data_preprocessor.size = crop_size
model = dict(
    _delete_=True,
    type='GCT',
    segmentor=segmentor,
    flaw_detector=dict(type='FlawDetector'),
    data_preprocessor=dict(
        type='mmdet.MultiBranchDataPreprocessor',
        data_preprocessor=segmentor.data_preprocessor),
    semi_train_cfg=dict(
        crop_size=crop_size,
        xi=0.6,
        lambda_dc=100.0,
        lambda_fc=1.0,
        fd_weight=10.0,
        clear_threshold=0.1,
        rampup=dict(kind='sigmoid', rampup_iters=rampup_iters, start_iters=0)),
    semi_test_cfg=dict(predict_on='model1'))
# one view per image (no strong augmentation in GCT)
train_dataloader = dict(
    dataset=dict(
        labeled=dict(pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations'),
            *_base_.geometric,
            _base_.gct_sup_view,
        ]),
        unlabeled=dict(pipeline=[
            dict(type='LoadImageFromFile'),
            *_base_.geometric,
            _base_.gct_unsup_view,
        ])))
optim_wrapper = dict(
    _delete_=True,
    constructor='MultiOptimWrapperConstructor',
    task=dict(
        type='OptimWrapper',
        modules=['model1', 'model2'],
        optimizer=dict(type='SGD', lr=0.001, momentum=0.9, weight_decay=5e-4),
        paramwise_cfg=dict(custom_keys=dict(decode_head=dict(lr_mult=10.0)))),
    fd=dict(
        type='OptimWrapper',
        modules='flaw_detector',
        optimizer=dict(type='Adam', lr=1e-4 * 4, betas=(0.9, 0.99))))
param_scheduler = dict(
    _delete_=True,
    task=[
        dict(
            type='PolyLR',
            eta_min=0.0,
            power=0.9,
            begin=0,
            end=max_iters,
            by_epoch=False)
    ],
    fd=[
        dict(
            type='PolyLR',
            eta_min=0.0,
            power=0.9,
            begin=0,
            end=max_iters,
            by_epoch=False)
    ])
train_cfg = dict(max_iters=max_iters, val_interval=max_iters // 10)
val_cfg = dict(type='SubModelValLoop')  # model1/, model2/, ensemble/mIoU
default_hooks = dict(checkpoint=dict(save_best='model1/mIoU', rule='greater'))
# one DDP per trainable sub-model: the task models and the flaw detector are
# updated by separate backward passes
model_wrapper_cfg = dict(
    type='SeparateDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False)
