# Soft Teacher, Faster R-CNN R50-caffe FPN, 10 % of COCO train2017 labelled
# (mmdet's semi_anns fold 1, tools/split_coco.py), 180k iterations on 8 GPUs
# with 5 images per GPU (1 labelled + 4 unlabelled): mmdet's config
# (mmdet 3.3 reports 33.8 box AP), run by SemiSoftTeacher and the project's
# EMA teacher hook (mmdet's MeanTeacherHook momentum 0.001 = teacher share
# 0.999, no warm-up).
_base_ = [
    'mmdet::soft_teacher/soft-teacher_faster-rcnn_r50-caffe_fpn_180k_semi-0.1-coco.py',  # noqa: E501
    '../_base_/det/soft_teacher.py'
]
default_scope = 'semiseg_mm_det'
model = dict(
    _base_.soft_teacher,
    _delete_=True,
    detector=_base_.detector,
    data_preprocessor=dict(
        type='SemiDetDataPreprocessor',
        data_preprocessor=_base_.detector.data_preprocessor))
# mmdet's -unlabeled files keep their images' boxes: a probe of 64 of them
# scores the teacher's pseudo-boxes (probe=None for truly unlabelled data)
custom_hooks = [
    _base_.ema_hook,
    dict(_base_.health_hook, interval=500, probe=dict(num=64)),
]
# fail fast (semiseg_mm): a non-finite loss stops the run before its step is
# applied; a checkpoint of another model, images missing from the folder or
# a split whose parts overlap stop it before iteration 0
default_hooks = dict(
    finite_loss=dict(type='FiniteLossHook', action='stop'),
    checkpoint_check=dict(type='CheckpointCheckHook'),
    data_check=dict(type='SemiDetDataCheckHook'))
