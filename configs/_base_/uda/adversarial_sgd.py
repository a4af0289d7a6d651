# Optimisers and schedule of AdaptSegNet / ADVENT on real data: the
# segmentor with SGD lr 2.5e-4, momentum 0.9, weight decay 5e-4, both
# classifiers at 10x the lr; the discriminators with Adam 1e-4, betas
# (0.9, 0.99); both decay as poly(0.9) over 250k iterations, and training
# stops early (ADVENT at 120k, AdaptSegNet at 150k: set max_iters).
max_iters = 120000
poly_iters = 250000
optim_wrapper = dict(
    constructor='MultiOptimWrapperConstructor',
    segmentor=dict(
        type='OptimWrapper',
        modules='segmentor',
        optimizer=dict(
            type='SGD', lr=2.5e-4, momentum=0.9, weight_decay=5e-4),
        paramwise_cfg=dict(
            custom_keys=dict(
                decode_head=dict(lr_mult=10.0),
                auxiliary_head=dict(lr_mult=10.0)))),
    discriminator=dict(
        type='OptimWrapper',
        modules='discriminators',
        optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.99))))
param_scheduler = dict(
    segmentor=[
        dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=poly_iters,
             by_epoch=False)
    ],
    discriminator=[
        dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=poly_iters,
             by_epoch=False)
    ])
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=2000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=2000,
        save_best='mIoU', rule='greater', max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'),
    finite_loss=dict(type='FiniteLossHook', action='stop'),
    dataset_check=dict(type='DatasetCheckHook'),
    checkpoint_check=dict(type='CheckpointCheckHook'))
# one image of each domain per iteration on one GPU in the papers; several
# GPUs wrap the segmentor and the discriminators in their own DDP
model_wrapper_cfg = dict(
    type='SeparateDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False)
