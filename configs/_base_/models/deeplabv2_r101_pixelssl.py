# DeepLabv2 as PixelSSL builds it for GCT and its baselines (ZHKKKe/PixelSSL,
# task/sseg/module/deeplab_v2.py, backbone/resnet.py; scripts
# task/sseg/script/deeplabv2_pascalvoc_1-8_*.py: backbone 'resnet101-coco',
# output_stride 16):
# - ResNet-101 with the 7x7 stem (torchvision layout), output stride 16:
#   strides (1, 2, 2, 1), dilations (1, 1, 1, 2), and multi-grid (1, 2, 4)
#   times the last stage's dilation 2 in its three blocks (mmseg's
#   multi_grid takes the absolute rates: 2, 4, 8), no dilation contraction;
# - initialised from the COCO-pretrained DeepLab ResNet-101 that PixelSSL
#   names (AdvSemiSeg's resnet101COCO-41f33a49.pth); its keys carry the
#   'Scale.' prefix of AdvSemiSeg's model, stripped here as AdvSemiSeg's
#   loader does (its 'layer5' classifier is not loaded);
# - the ASPP-sum classifier (6/12/18/24), logits upsampled with
#   align_corners=True.
_base_ = ['./deeplabv2_r101.py']
model = dict(
    pretrained=None,
    backbone=dict(
        type='ResNet',
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 2),
        multi_grid=(2, 4, 8),
        contract_dilation=False,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='http://vllab1.ucmerced.edu/~whung/adv-semi-seg/'
            'resnet101COCO-41f33a49.pth',
            prefix='Scale.')),
    decode_head=dict(align_corners=True))
