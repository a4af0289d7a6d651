# Supervised-only DeepLabv2 R101 on 1/16 of VOC aug (662 labelled images):
# the "SupOnly" row of GCT/PixelSSL. Same optimiser and length as
# gct/deeplabv2_voc_1-16.py: SGD lr 2.5e-4 per GPU x 4 GPUs, head x10,
# momentum 0.9, wd 5e-4, poly 0.9, crop 321, batch 2 per GPU,
# 20 epochs of the 9,920 unlabelled images = 24,800 iterations; PixelSSL's
# DeepLabv2 (output stride 16, COCO-pretrained weights), as the GCT config.
# Train: tools/dist_train.sh configs/supervised/deeplabv2_voc_1-16.py 4
_base_ = [
    '../_base_/models/deeplabv2_r101_pixelssl.py',
    '../_base_/datasets/voc_aug.py',
    '../_base_/schedules/sgd_poly.py', '../_base_/default_runtime.py'
]
num_gpus = 4
max_iters = 24800
crop_size = (321, 321)
# batches of crops: the preprocessor pads every image of a batch to the crop
model = dict(data_preprocessor=dict(size=crop_size))
train_dataloader = dict(
    batch_size=2, dataset=dict(ann_file='splits/1-16_seed0/labeled.txt'))
optim_wrapper = dict(
    optimizer=dict(lr=2.5e-4 * num_gpus, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='PolyLR', power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=2480)
default_hooks = dict(checkpoint=dict(interval=2480))
