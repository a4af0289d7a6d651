# CPU schedule of the synthetic detection configs: SGD with a linear warm-up
# and two steps (mmdet's semi-supervised schedule, shortened),
# iteration-based, validating every val_interval iterations. 4,000
# iterations: at 2,000 the from-scratch detector is still far from trained
# on its 100 labelled images (supervised 29.5 test box AP against 36.0 at
# 4,000, seed 0), too weak a teacher for pseudo-boxes (docs/benchmarks.md).
max_iters = 4000
val_interval = 1000
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=100),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_iters,
        by_epoch=False,
        milestones=[int(max_iters * 2 / 3),
                    int(max_iters * 8 / 9)],
        gamma=0.1)
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=val_interval)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=max_iters,
        max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='DetVisualizationHook'),
    # fail fast: a non-finite loss stops the run before its step is
    # applied; a checkpoint of another model, missing images or a split
    # whose parts overlap stop it before iteration 0
    finite_loss=dict(type='FiniteLossHook', action='stop'),
    checkpoint_check=dict(type='CheckpointCheckHook'),
    data_check=dict(type='SemiDetDataCheckHook'))
randomness = dict(seed=0)
