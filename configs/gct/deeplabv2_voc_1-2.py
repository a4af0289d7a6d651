# GCT, PASCAL VOC aug, blended 1/2: 5,291 of the 10,582 images labelled,
# 5,291 unlabelled. Everything as in the 1/16 config (PixelSSL's settings, see
# there) except the split and the schedule: sigmoid ramp-up over 3 epochs of
# the unlabelled set (3 x 661 = 1983 iterations); 40 epochs x
# floor(5,291 / 8) = 26440 iterations.
# Train: tools/dist_train.sh configs/gct/deeplabv2_voc_1-2.py 4
_base_ = ['./deeplabv2_voc_1-16.py']
max_iters = 26440
rampup_iters = 1983
train_dataloader = dict(
    dataset=dict(
        labeled=dict(ann_file='splits/1-2_seed0/labeled.txt'),
        unlabeled=dict(ann_file='splits/1-2_seed0/unlabeled.txt')))
model = dict(semi_train_cfg=dict(rampup=dict(rampup_iters=rampup_iters)))
param_scheduler = dict(
    task=[dict(type='PolyLR', power=0.9, end=max_iters, by_epoch=False)],
    fd=[dict(type='PolyLR', power=0.9, end=max_iters, by_epoch=False)])
train_cfg = dict(max_iters=max_iters, val_interval=max_iters // 10)
