# GCT (Guided Collaborative Training, Ke et al. ECCV 2020), Cityscapes, 1/8:
# 372 labelled, 2,603 unlabelled, 19 classes.
# Provenance: the GCT paper and PixelSSL (ZHKKKe/PixelSSL) for the method,
# the two DeepLabv2 R101 task models (PixelSSL's DeepLabv2: output stride
# 16, COCO-pretrained weights), the optimisers (task SGD 2.5e-4 per GPU x 4
# GPUs = 1e-3, head x10, momentum 0.9, wd 5e-4, poly 0.9; flaw detector Adam
# 1e-4 per GPU x 4 GPUs = 4e-4, betas (0.9, 0.99), poly 0.9), 2 + 2 images
# per GPU on 4 GPUs and the GCT hyperparameters (xi 0.6, lambda_dc 100,
# lambda_fc 1, detector weight 10, sigmoid ramp-up over 3 epochs of the
# unlabelled set = 3 x 325 = 975 iterations). The paper and PixelSSL give
# no Cityscapes recipe; our choices: PixelSSL's square crops at its larger
# size, 513x513 (blur kernels 65 / 129 / 33 by PixelSSL's crop / 8, 4, 16
# rule), from images randomly rescaled (0.5-2.0 of 2048x1024), and 240
# epochs like this repository's other Cityscapes 1/8 semi-supervised
# configs, of PixelSSL's epoch floor(2,603 / 8) = 325: 78000 iterations.
# Train: tools/dist_train.sh configs/gct/deeplabv2_cityscapes_1-8.py 4
_base_ = [
    '../_base_/models/deeplabv2_r101_pixelssl.py',
    '../_base_/datasets/semi_splits/cityscapes_1-8.py',
    '../_base_/datasets/gct_views.py', '../_base_/schedules/sgd_poly.py',
    '../_base_/default_runtime.py'
]
crop_size = (513, 513)
max_iters = 78000
rampup_iters = 975
segmentor = _base_.model
segmentor.data_preprocessor.size = crop_size
segmentor.decode_head.num_classes = 19
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
geometric = [
    dict(
        type='RandomResize',
        scale=(2048, 1024),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
]
# one view per image (no strong augmentation in GCT)
train_dataloader = dict(
    dataset=dict(
        labeled=dict(pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations'),
            *geometric,
            _base_.gct_sup_view,
        ]),
        unlabeled=dict(pipeline=[
            dict(type='LoadImageFromFile'),
            *geometric,
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
