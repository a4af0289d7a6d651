# Views of label-based pixel contrastive pretraining (Zhao et al., ICCV
# 2021), mmdet's MultiBranch branches of each labelled image:
#   orig       the image (after the dataset's own geometric augmentation)
#   distorted  a distorted copy: colour jitter, grayscale, blur and its own
#              horizontal flip; its mask is transformed with it, so the loss
#              pairs pixels by label, not by position
# A pretraining config ends its labelled pipeline with
# _base_.pixel_contrast_branches.
pixel_contrast_branch_field = ['orig', 'distorted']
pixel_contrast_distortions = [
    dict(
        type='RandomColorJitter',
        brightness=0.5,
        contrast=0.5,
        saturation=0.5,
        hue=0.25,
        prob=0.8),
    dict(type='RandomGrayscale', prob=0.2),
    dict(type='RandomGaussianBlur', sigma_range=(0.1, 2.0), prob=0.5),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
pixel_contrast_branches = dict(
    type='mmdet.MultiBranch',
    branch_field=pixel_contrast_branch_field,
    orig=[dict(type='PackSegInputs')],
    distorted=pixel_contrast_distortions)
