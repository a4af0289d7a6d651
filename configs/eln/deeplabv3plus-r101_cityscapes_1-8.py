# ELN, DeepLabv3+ ResNet-101 (output stride 16), Cityscapes 1/8: 372 of the
# 2,975 images labelled, 4 + 4 images per batch (official), crop 512 x 1024,
# the official schedule (_base_/schedules/eln_adamw.py). 19 classes.
# Train: tools/dist_train.sh configs/eln/deeplabv3plus-r101_cityscapes_1-8.py 1
_base_ = [
    '../_base_/models/deeplabv3plus_r101_eln.py',
    '../_base_/datasets/semi_splits/cityscapes_1-8.py',
    '../_base_/schedules/eln_adamw.py', '../_base_/default_runtime.py',
    '../_base_/semi/eln.py'
]
crop_size = (512, 1024)
labeled_bs = 4
unlabeled_bs = 4
segmentor = _base_.model
segmentor.data_preprocessor.size = crop_size
segmentor.decode_head.num_classes = 19
model = dict(
    _base_.eln,
    _delete_=True,
    segmentor=segmentor,
    data_preprocessor=dict(
        type='mmdet.MultiBranchDataPreprocessor',
        data_preprocessor=segmentor.data_preprocessor),
    semi_train_cfg=dict(_base_.eln.semi_train_cfg, stages=_base_.eln_stages))
train_dataloader = dict(
    batch_size=labeled_bs + unlabeled_bs,
    sampler=dict(
        batch_size=labeled_bs + unlabeled_bs,
        source_ratio=[labeled_bs, unlabeled_bs]),
    dataset=dict(
        unlabeled=dict(pipeline=_base_.unsup_pipeline[:-1] +
                       [_base_.eln_unsup_branches])))
custom_hooks = _base_.eln_hooks + [_base_.health_hook]
