# Source-only baseline of the synthetic domain pair: the multi-level CPU
# model of the adaptation configs trained on the 2000 labelled source images
# alone (8 per batch, the same 3000-iteration schedule), evaluated on the
# target val (validation) and test (report) splits.
_base_ = [
    '../_base_/models/dilated_convnet_multilevel.py',
    '../_base_/datasets/synthetic_uda.py',
    '../_base_/schedules/synthetic_cpu.py', '../_base_/default_runtime.py'
]
train_dataloader = dict(
    _delete_=True,
    batch_size=8,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        _base_.source_dataset,
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations'),
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackSegInputs'),
        ]))
train_cfg = dict(max_iters=3000, val_interval=3000)
default_hooks = dict(checkpoint=dict(save_best='mIoU', rule='greater'))
