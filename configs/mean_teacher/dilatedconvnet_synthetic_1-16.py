# Mean Teacher on 1/16 of the synthetic labels (300 labelled + 4500
# unlabelled images, 8 + 8 per batch), same model and schedule as
# supervised/dilatedconvnet_synthetic_1-16.py. The EMA teacher predicts.
# CutMix consistency (French et al. 2020): the student views and the
# teacher's probabilities are mixed with the same boxes; without it this
# config did not beat supervised 1/16 (docs/benchmarks.md).
_base_ = [
    '../_base_/models/dilated_convnet.py',
    '../_base_/datasets/synthetic_semi.py',
    '../_base_/schedules/synthetic_cpu.py', '../_base_/default_runtime.py'
]
segmentor = _base_.model
model = dict(
    _delete_=True,
    type='MeanTeacher',
    segmentor=segmentor,
    data_preprocessor=dict(
        type='mmdet.MultiBranchDataPreprocessor',
        data_preprocessor=segmentor.data_preprocessor),
    semi_train_cfg=dict(
        consistency='mse',
        cutmix=True,
        unsup_weight=10.0,
        sup_weight=1.0,
        rampup=dict(kind='sigmoid', rampup_iters=600, start_iters=0)),
    semi_test_cfg=dict(predict_on='teacher'))
custom_hooks = [
    dict(type='EMATeacherHook', momentum=0.99, buffer_mode='ema'),
    _base_.health_hook
]
val_cfg = dict(type='mmdet.TeacherStudentValLoop')
