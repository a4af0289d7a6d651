# Soft Teacher (Xu et al., ICCV 2021) method block, written once: mmdet's
# semi_train_cfg defaults (SemiSoftTeacher takes them as its own; every key
# is listed here so a config shows what it runs), the project's EMA teacher
# hook with mmdet's MeanTeacherHook momentum (teacher share 0.999, no
# warm-up; BatchNorm statistics averaged too, which changes nothing for
# mmdet's frozen-BN backbones and keeps a trainable-BN teacher right). A
# config builds the model from it with its two-stage detector and evaluates
# teacher and student with mmdet's TeacherStudentValLoop:
#   model = dict(_base_.soft_teacher, _delete_=True, detector=...)
soft_teacher = dict(
    type='SemiSoftTeacher',
    semi_train_cfg=dict(
        freeze_teacher=True,
        sup_weight=1.0,
        unsup_weight=4.0,
        pseudo_label_initial_score_thr=0.5,
        rpn_pseudo_thr=0.9,
        cls_pseudo_thr=0.9,
        reg_pseudo_thr=0.02,
        jitter_times=10,
        jitter_scale=0.06,
        min_pseudo_bbox_wh=(1e-2, 1e-2),
        burn_in_iters=0),
    semi_test_cfg=dict(predict_on='teacher'))
ema_hook = dict(
    type='EMATeacherHook', momentum=0.999, warmup=False, buffer_mode='ema')
# pseudo-box health: boxes per unlabelled image in training and, on a probe
# of unlabelled images with held-back boxes, their precision; warns when the
# teacher stops producing boxes
health_hook = dict(type='DetPseudoBoxHealthHook', interval=100, probe=None)
