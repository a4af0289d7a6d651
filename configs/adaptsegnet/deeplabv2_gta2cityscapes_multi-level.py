# AdaptSegNet, multi-level output-space adaptation, GTA5 -> Cityscapes
# (Tsai et al., CVPR 2018; wasidennis/AdaptSegNet): DeepLabv2 R101 with
# conv4 and conv5 classifiers, one FCDiscriminator per level on the
# softmax outputs, lambda_seg 0.1 (aux head loss weight), lambda_adv 0.0002
# (aux) and 0.001 (main), vanilla GAN; SGD 2.5e-4 (heads x10) + Adam 1e-4,
# poly over 250k iterations, early stop at 150k; 1 + 1 images per batch.
# Paper: 42.4 mIoU (19 classes). Train: tools/train.py this config.
_base_ = [
    '../_base_/models/deeplabv2_r101_multilevel.py',
    '../_base_/datasets/uda_gta2cityscapes.py',
    '../_base_/uda/adversarial_sgd.py', '../_base_/default_runtime.py',
    '../_base_/uda/adaptsegnet.py'
]
model = dict(_base_.adaptsegnet, _delete_=True, segmentor=_base_.model)
train_cfg = dict(max_iters=150000)
