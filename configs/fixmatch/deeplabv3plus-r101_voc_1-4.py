# FixMatch (UniMatch's strong-view branch), DeepLabv3+ R101, PASCAL VOC aug, blended 1/4: 2,646 of the 10,582
# images labelled, 7,936 unlabelled. Everything as in the 1/16 config except the
# split and the schedule: 80 epochs x ceil(7,936 / 8) = 79360 iterations.
# Train: tools/dist_train.sh configs/fixmatch/deeplabv3plus-r101_voc_1-4.py 4
_base_ = ['./deeplabv3plus-r101_voc_1-16.py']
max_iters = 79360
train_dataloader = dict(
    dataset=dict(
        labeled=dict(ann_file='splits/1-4_seed0/labeled.txt'),
        unlabeled=dict(ann_file='splits/1-4_seed0/unlabeled.txt')))
param_scheduler = [
    dict(type='PolyLR', power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters // 10)
