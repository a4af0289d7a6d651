# Strong-weak dual branch, DeepLabv3+ R101, PASCAL VOC aug, blended 1/8
# (1,323 of 10,582 images labelled): the split, crop, schedule and optimiser
# of fixmatch/deeplabv3plus-r101_voc_1-8.py (SGD lr 0.001, head x10, poly,
# 92640 iterations, 2 + 2 images per GPU on 4 GPUs), with an EMA teacher
# (0.999) whose pseudo-labels train the weak head on the strong view.
# Train: tools/dist_train.sh configs/dual_branch/deeplabv3plus-r101_voc_1-8.py 4
_base_ = ['../fixmatch/deeplabv3plus-r101_voc_1-8.py',
          '../_base_/semi/dual_branch.py']
model = dict(
    _base_.dual_branch,
    _delete_=True,
    segmentor=_base_.segmentor,
    data_preprocessor=_base_.model.data_preprocessor)
custom_hooks = [
    dict(type='EMATeacherHook', momentum=0.999, buffer_mode='ema'),
    _base_.health_hook
]
val_cfg = dict(_delete_=True, type='mmdet.TeacherStudentValLoop')
default_hooks = dict(checkpoint=dict(save_best='teacher/mIoU'))
