# MinEnt, GTA5 -> Cityscapes (ADVENT, advent/scripts/configs/minent.yml):
# source CE + lambda_ent x the mean normalised entropy of the target
# predictions, 0.001 (main) / 0.0002 (aux); one optimiser (SGD 2.5e-4, heads
# x10, poly over 250k), early stop at 120k.
_base_ = [
    '../_base_/models/deeplabv2_r101_multilevel.py',
    '../_base_/datasets/uda_gta2cityscapes.py',
    '../_base_/schedules/sgd_poly.py', '../_base_/default_runtime.py',
    '../_base_/uda/minent.py'
]
model = dict(_base_.minent, _delete_=True, segmentor=_base_.model)
optim_wrapper = dict(
    optimizer=dict(lr=2.5e-4, momentum=0.9, weight_decay=5e-4),
    paramwise_cfg=dict(
        custom_keys=dict(
            decode_head=dict(lr_mult=10.0),
            auxiliary_head=dict(lr_mult=10.0))))
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=250000,
         by_epoch=False)
]
train_cfg = dict(max_iters=120000, val_interval=2000)
default_hooks = dict(
    checkpoint=dict(interval=2000, save_best='mIoU', rule='greater'))
