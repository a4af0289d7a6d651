# PASCAL VOC aug, classic: 366 labelled.
# Split files from: tools/make_splits.py (docs/get_started.md, VOC classic splits)
_base_ = ['../voc_aug_semi.py']
train_dataloader = dict(
    dataset=dict(
        labeled=dict(ann_file='splits/366_seed0/labeled.txt'),
        unlabeled=dict(ann_file='splits/366_seed0/unlabeled.txt')))
