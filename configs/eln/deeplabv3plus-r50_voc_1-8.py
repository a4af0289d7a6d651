# ELN, DeepLabv3+ ResNet-50 (output stride 16), PASCAL VOC aug, blended 1/8:
# 1,323 labelled; everything else as in the ResNet-101 1/8 config.
# Train: tools/dist_train.sh configs/eln/deeplabv3plus-r50_voc_1-8.py 1
_base_ = ['./deeplabv3plus-r101_voc_1-8.py']
model = dict(
    segmentor=dict(
        pretrained='open-mmlab://resnet50_v1c', backbone=dict(depth=50)))
