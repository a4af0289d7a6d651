# MinEnt on the synthetic domain pair: source supervision + the mean
# normalised entropy of the target predictions, lambda_ent 0.001 (main) and
# 0.0002 (aux), one optimiser (the benchmark's AdamW + poly), no
# discriminator.
_base_ = [
    '../_base_/models/dilated_convnet_multilevel.py',
    '../_base_/datasets/synthetic_uda.py',
    '../_base_/schedules/synthetic_cpu.py', '../_base_/default_runtime.py',
    '../_base_/uda/minent.py'
]
model = dict(_base_.minent, _delete_=True, segmentor=_base_.model)
train_cfg = dict(max_iters=3000, val_interval=3000)
default_hooks = dict(checkpoint=dict(save_best='mIoU', rule='greater'))
