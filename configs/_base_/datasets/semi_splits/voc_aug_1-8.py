# PASCAL VOC aug, blended 1/8: 1,323 labelled.
# Split files from: tools/make_splits.py (docs/get_started.md, VOC blended splits)
_base_ = ['../voc_aug_semi.py']
train_dataloader = dict(
    dataset=dict(
        labeled=dict(ann_file='splits/1-8_seed0/labeled.txt'),
        unlabeled=dict(ann_file='splits/1-8_seed0/unlabeled.txt')))
