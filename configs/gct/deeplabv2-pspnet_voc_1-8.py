# GCT with two different task models (Ke et al. ECCV 2020 allow T1 and T2 to
# differ in architecture): model1 DeepLabv2 R101, model2 PSPNet R101, PASCAL
# VOC aug, blended 1/8 (1,323 labelled, 9,259 unlabelled).
# Provenance: the GCT paper / PixelSSL for everything but model2, whose
# definition is mmseg's configs/_base_/models/pspnet_r50-d8.py with depth 101
# and 21 classes (written out here: a config cannot have two model bases).
# Schedule, optimisers, crop and GCT hyperparameters as
# deeplabv2_voc_1-8.py: task SGD 1e-3 (heads x10, PSPNet's auxiliary head
# too), wd 5e-4, poly 0.9; flaw detector Adam 4e-4 (0.9, 0.99), poly 0.9;
# 2 + 2 images per GPU on 4 GPUs, crop 321; 20 epochs = 23140 iterations.
# Model 1 has PixelSSL's DeepLabv2 (output stride 16, COCO weights); model 2
# mmseg's PSPNet on ImageNet ResNetV1c weights.
# Train: tools/dist_train.sh configs/gct/deeplabv2-pspnet_voc_1-8.py 4
_base_ = ['./deeplabv2_voc_1-8.py']
pspnet_norm_cfg = dict(type='SyncBN', requires_grad=True)
pspnet = dict(
    type='EncoderDecoder',
    data_preprocessor=_base_.segmentor.data_preprocessor,
    pretrained='open-mmlab://resnet101_v1c',
    backbone=dict(
        type='ResNetV1c',
        depth=101,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=pspnet_norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True),
    decode_head=dict(
        type='PSPHead',
        in_channels=2048,
        in_index=3,
        channels=512,
        pool_scales=(1, 2, 3, 6),
        dropout_ratio=0.1,
        num_classes=21,
        norm_cfg=pspnet_norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=1024,
        in_index=2,
        channels=256,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=21,
        norm_cfg=pspnet_norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
model = dict(segmentor2=pspnet)
optim_wrapper = dict(
    task=dict(
        paramwise_cfg=dict(
            custom_keys=dict(
                decode_head=dict(lr_mult=10.0),
                auxiliary_head=dict(lr_mult=10.0)))))
