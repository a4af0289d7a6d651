# Strong-weak dual branch on 1/16 of the synthetic labels (300 labelled +
# 4500 unlabelled images, 8 + 16 per batch): the data, views, EMA teacher
# (0.99), CutMix and warm-up of fixmatch/dilatedconvnet_synthetic_1-16.py,
# but the teacher's pseudo-labels (all of them) train a second, weak head on
# the shared backbone, never the strong head that predicts.
_base_ = [
    '../_base_/models/dilated_convnet.py',
    '../_base_/datasets/synthetic_semi.py',
    '../_base_/schedules/synthetic_cpu.py', '../_base_/default_runtime.py',
    '../_base_/semi/dual_branch.py'
]
segmentor = _base_.model
model = dict(
    _base_.dual_branch,
    _delete_=True,
    segmentor=segmentor,
    data_preprocessor=dict(
        type='mmdet.MultiBranchDataPreprocessor',
        data_preprocessor=segmentor.data_preprocessor),
    semi_train_cfg=dict(
        _base_.dual_branch.semi_train_cfg,
        rampup=dict(kind='linear', rampup_iters=300, start_iters=300)))
train_dataloader = dict(
    batch_size=24, sampler=dict(batch_size=24, source_ratio=[8, 16]))
custom_hooks = [
    dict(type='EMATeacherHook', momentum=0.99, buffer_mode='ema'),
    _base_.health_hook
]
val_cfg = dict(type='mmdet.TeacherStudentValLoop')
