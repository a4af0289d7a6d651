# AdaptSegNet, multi-level output-space adaptation, on the synthetic domain
# pair (source -> noisier, blurred, recoloured target), 8 + 8 images per
# batch, the CPU model with an auxiliary head (loss weight 0.1) and one
# FCDiscriminator per level on its softmax output; lambda_adv 0.001 (main)
# and 0.0002 (aux), vanilla GAN, as in the paper. 3000 iterations; the
# target val split validates, report on target test.
_base_ = [
    '../_base_/models/dilated_convnet_multilevel.py',
    '../_base_/datasets/synthetic_uda.py', '../_base_/uda/adversarial_cpu.py',
    '../_base_/default_runtime.py', '../_base_/uda/adaptsegnet.py'
]
model = dict(
    _base_.adaptsegnet,
    _delete_=True,
    segmentor=_base_.model,
    # FCDiscriminator at a quarter of its width (base 16, 177k parameters):
    # at 64 base channels (2.8M) two discriminators cost several times the
    # 53k-parameter segmentor per iteration
    discriminator=dict(type='FCDiscriminator', base_channels=16))
train_cfg = dict(max_iters=3000, val_interval=3000)
default_hooks = dict(checkpoint=dict(save_best='mIoU', rule='greater'))
