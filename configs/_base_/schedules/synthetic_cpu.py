# CPU schedule for the synthetic benchmark: AdamW + poly decay, iteration-based.
max_iters = 3000
optimizer = dict(type='AdamW', lr=2e-3, betas=(0.9, 0.999), weight_decay=1e-4)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer)
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=0.9,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
# validate every 500 iterations, so a run shows its curve (the benchmark
# validates once, at the end)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=500)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=max_iters,
        max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'),
    # fail fast (semiseg_mm): a non-finite loss stops the run before the
    # step is applied; data/model and checkpoint/model mismatches stop it
    # before the first iteration (docs/get_started.md, "Bad input")
    finite_loss=dict(type='FiniteLossHook', action='stop'),
    dataset_check=dict(type='DatasetCheckHook'),
    checkpoint_check=dict(type='CheckpointCheckHook'))
randomness = dict(seed=0)
