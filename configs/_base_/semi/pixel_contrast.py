# Label-based pixel contrastive pretraining (Zhao et al., ICCV 2021; loss
# after google-research supervised_pixel_contrastive_loss): the stage-1
# method block, written once and reused by every pretraining config. A
# config gives its backbone and the channels the head projects:
#   model = dict(_base_.pixel_contrast, backbone=..., projection_head=dict(
#       _base_.pixel_contrast.projection_head, in_channels=C),
#       data_preprocessor=...)
# Stage 2 (*_finetune.py) is a plain mmseg config whose backbone starts from
# the stage-1 checkpoint: backbone.init_cfg=dict(type='Pretrained',
# checkpoint=..., prefix='backbone.') (the projection head stays behind).
pixel_contrast = dict(
    type='PixelContrastPretrain',
    # the paper: three 1x1 convs of 256 channels, ReLU after the first
    # two, unit L2 normalisation (the official TF code defaults to 2 + BN)
    projection_head=dict(
        type='ProjectionHead',
        channels=256,
        out_channels=256,
        num_convs=3,
        normalize=True),
    # cross-image (positives also from a shuffled other image, negatives
    # only from the anchor's own), tau 0.07, 10k pixels over the batch
    loss_contrast=dict(
        type='PixelContrastiveLoss',
        variant='cross_image',
        tau=0.07,
        max_pixels=10000))
