# Optimisers of adversarial adaptation at CPU scale (the synthetic pair):
# the segmentor with the benchmark's AdamW 2e-3 + poly (the papers' SGD
# 2.5e-4 suits ImageNet-initialised ResNets, not a from-scratch CPU model),
# the discriminators with the papers' Adam 1e-4, betas (0.9, 0.99), poly
# 0.9. Each has its own scheduler; MMEngine saves and resumes both. The rest
# of the schedule (3000 iterations, hooks) is the benchmark's.
_base_ = ['../schedules/synthetic_cpu.py']
max_iters = 3000
optim_wrapper = dict(
    _delete_=True,
    constructor='MultiOptimWrapperConstructor',
    segmentor=dict(
        type='OptimWrapper',
        modules='segmentor',
        optimizer=dict(
            type='AdamW', lr=2e-3, betas=(0.9, 0.999), weight_decay=1e-4)),
    discriminator=dict(
        type='OptimWrapper',
        modules='discriminators',
        optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.99))))
param_scheduler = dict(
    _delete_=True,
    segmentor=[
        dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters,
             by_epoch=False)
    ],
    discriminator=[
        dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters,
             by_epoch=False)
    ])
# the segmentor and the discriminators are updated by separate backward
# passes: each is wrapped in its own DDP (tools/dist_train.sh)
model_wrapper_cfg = dict(
    type='SeparateDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False)
