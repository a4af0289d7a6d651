# GCT on 1/16 of the synthetic labels (300 labelled + 4500 unlabelled
# images, 8 + 8 per batch, one flipped view per image): two DilatedConvNet
# task models (separately initialised) and a flaw detector, same model and
# schedule as supervised/dilatedconvnet_synthetic_1-16.py. The task models
# use the CPU benchmark's AdamW 2e-3 + poly (instead of PixelSSL's SGD,
# which suits pretrained ResNets); the flaw detector PixelSSL's Adam 1e-4,
# betas (0.9, 0.99), poly 0.9. GCT's hyperparameters are the paper's
# defaults; the sigmoid ramp-up lasts 3 epochs of the unlabelled set
# (PixelSSL, whose epoch is floor(N_u / 8)): 3 x 562 = 1686 iterations.
# Model 1 predicts.
# Flaw detector scaled to 64 px images: with PixelSSL's strides its last
# feature map is 1x1 at 64 px (one flaw value per image, upsampled: no
# spatial flaw map), so two stride-2 convs become stride 1 (output 5x5;
# PixelSSL's is 9x9 at crop 321), and its widths are quartered (0.5M
# instead of 8.3M parameters, for 53k-parameter task models; a GCT
# iteration then takes about half the CPU time).
_base_ = [
    '../_base_/models/dilated_convnet.py',
    '../_base_/datasets/synthetic_semi.py',
    '../_base_/datasets/gct_views.py',
    '../_base_/schedules/synthetic_cpu.py', '../_base_/default_runtime.py'
]
max_iters = 3000
segmentor = _base_.model
model = dict(
    _delete_=True,
    type='GCT',
    segmentor=segmentor,
    flaw_detector=dict(
        type='FlawDetector',
        channels=(16, 32, 32, 64, 64, 128, 128),
        strides=(2, 2, 1, 1, 1, 1, 1)),
    data_preprocessor=dict(
        type='mmdet.MultiBranchDataPreprocessor',
        data_preprocessor=segmentor.data_preprocessor),
    semi_train_cfg=dict(
        crop_size=64,
        xi=0.6,
        lambda_dc=100.0,
        lambda_fc=1.0,
        fd_weight=10.0,
        clear_threshold=0.1,
        rampup=dict(kind='sigmoid', rampup_iters=1686, start_iters=0)),
    semi_test_cfg=dict(predict_on='model1'))
train_dataloader = dict(
    dataset=dict(
        labeled=dict(pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations'),
            dict(type='RandomFlip', prob=0.5),
            _base_.gct_sup_view,
        ]),
        unlabeled=dict(pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='RandomFlip', prob=0.5),
            _base_.gct_unsup_view,
        ])))
optim_wrapper = dict(
    _delete_=True,
    constructor='MultiOptimWrapperConstructor',
    task=dict(
        type='OptimWrapper',
        modules=['model1', 'model2'],
        optimizer=_base_.optimizer),
    fd=dict(
        type='OptimWrapper',
        modules='flaw_detector',
        optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.99))))
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
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='SubModelValLoop')
default_hooks = dict(checkpoint=dict(save_best='model1/mIoU', rule='greater'))
# the task models and the detector are updated by separate backward passes:
# each is wrapped in its own DDP (tools/dist_train.sh)
model_wrapper_cfg = dict(
    type='SeparateDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False)
