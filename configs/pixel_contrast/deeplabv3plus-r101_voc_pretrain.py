# Label-based pixel contrastive pretraining (Zhao et al., ICCV 2021), stage 1
# on the 662 labelled images of the VOC aug 1/16 split: the DeepLabv3+ R101
# backbone (ImageNet ResNet-101 v1c) + the paper's projection head (3 x 1x1
# conv, 256 channels, L2-normalised) on its last stage, cross-image pixel
# contrastive loss (tau 0.07, 10k pixels per batch), each image (the
# supervised VOC config's augmentation, crop 512) and a distorted copy;
# 4 images per GPU x 4 GPUs, SGD lr 0.01, poly, 10k iterations (our choice).
# Stage 2: deeplabv3plus-r101_voc_finetune.py (tools/pretrain_finetune.py).
_base_ = [
    '../supervised/deeplabv3plus-r101_voc_1-16.py',
    '../_base_/datasets/pixel_contrast_views.py',
    '../_base_/semi/pixel_contrast.py'
]
pretrain_iters = 10000
model = dict(
    _base_.pixel_contrast,
    _delete_=True,
    backbone=dict(_base_.model.backbone,
                  pretrained='open-mmlab://resnet101_v1c'),
    projection_head=dict(_base_.pixel_contrast.projection_head,
                         in_channels=2048),
    data_preprocessor=dict(
        type='mmdet.MultiBranchDataPreprocessor',
        data_preprocessor=dict(_base_.model.data_preprocessor,
                               size=_base_.crop_size)))
train_dataloader = dict(
    dataset=dict(pipeline=_base_.train_pipeline[:-1] +
                 [_base_.pixel_contrast_branches]))
optim_wrapper = dict(
    paramwise_cfg=dict(
        _delete_=True,
        custom_keys=dict(projection_head=dict(lr_mult=10.0))))
param_scheduler = [
    dict(type='PolyLR', power=0.9, begin=0, end=pretrain_iters,
         by_epoch=False)
]
train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=pretrain_iters)
default_hooks = dict(
    checkpoint=dict(interval=pretrain_iters, save_best=None))
val_cfg = val_dataloader = val_evaluator = None
test_cfg = test_dataloader = test_evaluator = None
