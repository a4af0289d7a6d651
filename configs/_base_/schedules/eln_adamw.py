# ELN's official schedule (kinux98/SSL_ELN train.py): 500 epochs of 266
# iterations = 133,000; supervised pre-training for 40 epochs, ELN +
# auxiliary decoders for 50, then semi-supervised; AdamW lr 1e-4 (the
# segmenter's and ELN's backbones 1e-5), weight decay 1e-5, constant
# learning rate, mixed precision. A config puts eln_stages into
# model.semi_train_cfg.stages. The hooks (fail-fast checks included) are
# sgd_poly.py's.
_base_ = ['./sgd_poly.py']
epoch_iters = 266
max_iters = 500 * epoch_iters
eln_stages = [
    dict(name='pretrain', begin=0, end=40 * epoch_iters),
    dict(name='eln', begin=40 * epoch_iters, end=90 * epoch_iters),
    dict(name='semi', begin=90 * epoch_iters, end=max_iters),
]
optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, weight_decay=1e-5),
    paramwise_cfg=dict(
        custom_keys={
            'student.backbone': dict(lr_mult=0.1),
            'pseudo_label_filter.network.backbone': dict(lr_mult=0.1),
        }))
param_scheduler = []  # constant learning rate, as the official code
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters,
    val_interval=10 * epoch_iters)
val_cfg = dict(type='mmdet.TeacherStudentValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=10 * epoch_iters,
        max_keep_ckpts=2, save_best='teacher/mIoU', rule='greater'))
