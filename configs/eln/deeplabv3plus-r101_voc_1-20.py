# ELN, DeepLabv3+ ResNet-101 (output stride 16), PASCAL VOC aug, blended
# 1/20: 530 of the 10,582 images labelled, 6 + 6 images per batch (the
# official single-process batch), crop 505 x 505, the official schedule
# (_base_/schedules/eln_adamw.py: 133,000 iterations, stages 40 / 50 / 410
# epochs, AdamW 1e-4, constant lr, mixed precision). The ELN network is
# DeepLabv3+ on ResNet-34 (image + entropy + logits in).
# Train: tools/dist_train.sh configs/eln/deeplabv3plus-r101_voc_1-20.py 1
_base_ = [
    '../_base_/models/deeplabv3plus_r101_eln.py',
    '../_base_/datasets/semi_splits/voc_aug_1-20.py',
    '../_base_/schedules/eln_adamw.py', '../_base_/default_runtime.py',
    '../_base_/semi/eln.py'
]
crop_size = (505, 505)
labeled_bs = 6
unlabeled_bs = 6
segmentor = _base_.model
segmentor.data_preprocessor.size = crop_size
model = dict(
    _base_.eln,
    _delete_=True,
    segmentor=segmentor,
    data_preprocessor=dict(
        type='mmdet.MultiBranchDataPreprocessor',
        data_preprocessor=segmentor.data_preprocessor),
    semi_train_cfg=dict(_base_.eln.semi_train_cfg, stages=_base_.eln_stages))
geometric = [
    dict(
        type='RandomResize',
        scale=(2048, 512),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
]
train_dataloader = dict(
    batch_size=labeled_bs + unlabeled_bs,
    sampler=dict(
        batch_size=labeled_bs + unlabeled_bs,
        source_ratio=[labeled_bs, unlabeled_bs]),
    dataset=dict(
        labeled=dict(pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations'), *geometric, _base_.sup_branch
        ]),
        unlabeled=dict(pipeline=[
            dict(type='LoadImageFromFile'), *geometric,
            _base_.eln_unsup_branches
        ])))
custom_hooks = _base_.eln_hooks + [_base_.health_hook]
