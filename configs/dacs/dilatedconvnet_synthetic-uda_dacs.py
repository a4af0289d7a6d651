# DACS on the synthetic domain pair: source supervision + cross-entropy on
# mixed images (half the classes of each source image pasted into a target
# image, then colour jitter and blur), their target pixels labelled by an EMA
# teacher (momentum 0.99) and weighted by the share of target pixels whose
# teacher confidence passes 0.968, as in the official trainUDA.py. The CPU
# model, data and 3000-iteration schedule of the source-only baseline
# (8 source + 8 target images per batch, one AdamW optimiser); the target
# val split validates, report on target test.
_base_ = [
    '../_base_/models/dilated_convnet_multilevel.py',
    '../_base_/datasets/synthetic_uda.py',
    '../_base_/schedules/synthetic_cpu.py', '../_base_/default_runtime.py',
    '../_base_/uda/dacs.py'
]
model = dict(_base_.dacs, _delete_=True, segmentor=_base_.model)
train_cfg = dict(max_iters=3000, val_interval=3000)
default_hooks = dict(checkpoint=dict(save_best='mIoU', rule='greater'))
