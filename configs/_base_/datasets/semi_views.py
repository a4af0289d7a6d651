# Views of semi-supervised training (mmdet's MultiBranch branches):
#   sup            labelled image
#   unsup_teacher  weak view of an unlabelled image
#   unsup_student  strong view: the weak view's geometry (applied before
#                  MultiBranch) + UniMatch's photometric strong augmentation
#                  and a CutMix box the model mixes images/pseudo-labels with
branch_field = ['sup', 'unsup_teacher', 'unsup_student']
strong_meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
                    'pad_shape', 'scale_factor', 'flip', 'flip_direction',
                    'reduce_zero_label', 'cutmix_box')
strong_pipeline = [
    dict(
        type='RandomColorJitter',
        brightness=0.5,
        contrast=0.5,
        saturation=0.5,
        hue=0.25,
        prob=0.8),
    dict(type='RandomGrayscale', prob=0.2),
    dict(type='RandomGaussianBlur', sigma_range=(0.1, 2.0), prob=0.5),
    dict(
        type='GenerateCutMixBox',
        prob=0.5,
        area_range=(0.02, 0.4),
        aspect_range=(0.3, 1 / 0.3)),
    dict(type='PackSegInputs', meta_keys=strong_meta_keys),
]
sup_branch = dict(
    type='mmdet.MultiBranch',
    branch_field=branch_field,
    sup=[dict(type='PackSegInputs')])
unsup_branches = dict(
    type='mmdet.MultiBranch',
    branch_field=branch_field,
    unsup_teacher=[dict(type='PackSegInputs')],
    unsup_student=strong_pipeline)
