# PASCAL VOC aug, classic: 183 labelled.
# Split files from: tools/make_splits.py (docs/get_started.md, VOC classic splits)
_base_ = ['../voc_aug_semi.py']
train_dataloader = dict(
    dataset=dict(
        labeled=dict(ann_file='splits/183_seed0/labeled.txt'),
        unlabeled=dict(ann_file='splits/183_seed0/unlabeled.txt')))
