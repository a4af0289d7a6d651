# Views of label-based pixel contrastive pretraining (Zhao et al., ICCV
# 2021), mmdet's MultiBranch branches of each labelled image:
#   orig       the image (after the dataset's own geometric augmentation)
#   distorted  a distorted copy: UniMatch's photometric strong augmentation
#              (semi_views.py: colour jitter, grayscale, blur) and a
#              horizontal flip of its own; its mask is transformed with it,
#              so the loss pairs pixels by label, not by position
# A pretraining config ends its labelled pipeline with
# _base_.pixel_contrast_branches.
_base_ = ['./semi_views.py']
pixel_contrast_branch_field = ['orig', 'distorted']
pixel_contrast_distortions = _base_.strong_pipeline[:3] + [
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
pixel_contrast_branches = dict(
    type='mmdet.MultiBranch',
    branch_field=pixel_contrast_branch_field,
    orig=[dict(type='PackSegInputs')],
    distorted=pixel_contrast_distortions)
