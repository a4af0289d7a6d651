# Label-based pixel contrastive pretraining (Zhao et al., ICCV 2021), stage 1
# on the 372 labelled images of the Cityscapes 1/8 split: the DeepLabv3+ R101
# backbone (ImageNet ResNet-101 v1c weights) + the paper's projection head
# (3 x 1x1 conv, 256 channels, L2-normalised) on its last stage (2048 ch, 1/8
# resolution), cross-image pixel contrastive loss (tau 0.07, 10k pixels per
# batch), on each image (mmseg's Cityscapes augmentation, crop 512x1024) and a
# distorted copy (colour jitter, grayscale, blur, flip); 2 images per GPU x 4
# GPUs, SGD lr 0.01, poly, 20k iterations (our choice: the spec gives no
# pretraining schedule). Stage 2: deeplabv3plus-r101_cityscapes_finetune.py.
#   python tools/pretrain_finetune.py \
#       configs/pixel_contrast/deeplabv3plus-r101_cityscapes_pretrain.py \
#       configs/pixel_contrast/deeplabv3plus-r101_cityscapes_finetune.py
# (each stage: tools/dist_train.sh CONFIG 4 for 4 GPUs)
_base_ = [
    '../_base_/models/deeplabv3plus_r101.py',
    '../_base_/datasets/cityscapes.py', '../_base_/schedules/sgd_poly.py',
    '../_base_/default_runtime.py',
    '../_base_/datasets/pixel_contrast_views.py',
    '../_base_/semi/pixel_contrast.py'
]
crop_size = (512, 1024)
pretrain_iters = 20000
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
                               size=crop_size)))
train_dataloader = dict(
    batch_size=2,
    dataset=dict(
        ann_file='splits/1-8_seed0/labeled.txt',
        pipeline=_base_.train_pipeline[:-1] +
        [_base_.pixel_contrast_branches]))
optim_wrapper = dict(
    optimizer=dict(lr=0.01, momentum=0.9, weight_decay=5e-4),
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
# stage 1 has no classifier: nothing to validate or test
val_cfg = val_dataloader = val_evaluator = None
test_cfg = test_dataloader = test_evaluator = None
