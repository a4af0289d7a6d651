# PASCAL VOC aug, blended 1/20: 530 of the 10,582 images labelled (ELN's
# smallest VOC split).
# Split files from: tools/make_splits.py ... --fractions 1/20 (docs/get_started.md, VOC blended splits)
_base_ = ['../voc_aug_semi.py']
train_dataloader = dict(
    dataset=dict(
        labeled=dict(ann_file='splits/1-20_seed0/labeled.txt'),
        unlabeled=dict(ann_file='splits/1-20_seed0/unlabeled.txt')))
