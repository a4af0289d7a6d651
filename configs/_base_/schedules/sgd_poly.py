# SGD + poly decay per iteration, head lr x10 (DeepLab convention used by
# AdaptSegNet, ADVENT, GCT, CPS, UniMatch). Configs set lr and max_iters.
max_iters = 40000
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=optimizer,
    clip_grad=None,
    paramwise_cfg=dict(custom_keys=dict(decode_head=dict(lr_mult=10.0))))
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=0.9,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=4000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=4000,
        max_keep_ckpts=2, save_best='mIoU'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'),
    # fail fast (semiseg_mm): a non-finite loss stops the run before the
    # step is applied; data/model and checkpoint/model mismatches stop it
    # before the first iteration (docs/get_started.md, "Bad input")
    finite_loss=dict(type='FiniteLossHook', action='stop'),
    dataset_check=dict(type='DatasetCheckHook'),
    checkpoint_check=dict(type='CheckpointCheckHook'))
