# DeepLabv2 ResNet-101 as AdaptSegNet and ADVENT build it (output stride 8:
# layer3 dilated 2, layer4 dilated 4, every block of a stage dilated), with
# two classifiers: the main ASPP-sum head on conv5 (layer4, 2048 ch) and an
# auxiliary one on conv4 (layer3, 1024 ch) whose CE weighs lambda_seg = 0.1.
# Both upsample with align_corners=True (ADVENT's nn.Upsample). BatchNorm
# as in the official code: affine parameters frozen, layers left in training
# mode (one image per batch then normalises each image by its own
# statistics). ImageNet weights: torchvision's ResNet-101 (the official
# codes start from DeepLab's Caffe ResNet-101, which mmseg's zoo lacks).
norm_cfg = dict(type='BN', requires_grad=False)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    # the domains come at their own sizes (1280x720, 1024x512), which are
    # multiples of 8: nothing is padded
    size_divisor=8)
head = dict(
    type='DeepLabV2Head',
    dilations=(6, 12, 18, 24),
    num_classes=19,
    align_corners=True,
    loss_decode=dict(
        type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained='torchvision://resnet101',
    backbone=dict(
        type='ResNet',
        depth=101,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=False),
    decode_head=dict(head, in_channels=2048, in_index=3),
    auxiliary_head=dict(
        head,
        in_channels=1024,
        in_index=2,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.1)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
