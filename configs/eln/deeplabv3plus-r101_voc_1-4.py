# ELN, DeepLabv3+ ResNet-101, PASCAL VOC aug, blended 1/4: 2,646 labelled;
# everything else as in the 1/20 config.
# Train: tools/dist_train.sh configs/eln/deeplabv3plus-r101_voc_1-4.py 1
_base_ = ['./deeplabv3plus-r101_voc_1-20.py']
train_dataloader = dict(
    dataset=dict(
        labeled=dict(ann_file='splits/1-4_seed0/labeled.txt'),
        unlabeled=dict(ann_file='splits/1-4_seed0/unlabeled.txt')))
