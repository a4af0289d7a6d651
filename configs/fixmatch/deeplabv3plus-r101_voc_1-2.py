# FixMatch (UniMatch's strong-view branch), DeepLabv3+ R101, PASCAL VOC aug, blended 1/2: 5,291 of the 10,582
# images labelled, 5,291 unlabelled. Everything as in the 1/16 config except the
# split and the schedule: 80 epochs x ceil(5,291 / 8) = 52960 iterations.
# Train: tools/dist_train.sh configs/fixmatch/deeplabv3plus-r101_voc_1-2.py 4
_base_ = ['./deeplabv3plus-r101_voc_1-16.py']
max_iters = 52960
train_dataloader = dict(
    dataset=dict(
        labeled=dict(ann_file='splits/1-2_seed0/labeled.txt'),
        unlabeled=dict(ann_file='splits/1-2_seed0/unlabeled.txt')))
param_scheduler = [
    dict(type='PolyLR', power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters // 10)
