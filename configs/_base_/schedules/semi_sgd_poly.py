# SGD + per-iteration poly decay for semi-supervised training, head lr x10
# (decode and auxiliary heads of the student), as in UniMatch / PixelSSL.
# Method configs set lr, max_iters and the checkpoint metric.
_base_ = ['./sgd_poly.py']
optim_wrapper = dict(
    paramwise_cfg=dict(
        custom_keys={
            'student.decode_head': dict(lr_mult=10.0),
            'student.auxiliary_head': dict(lr_mult=10.0)
        }))
val_cfg = dict(type='mmdet.TeacherStudentValLoop')
default_hooks = dict(checkpoint=dict(save_best='teacher/mIoU'))
