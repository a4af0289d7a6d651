# AdaptSegNet, single-level (conv5 output only), GTA5 -> Cityscapes: the
# multi-level config without the conv4 classifier and its discriminator
# (the official script runs it as multi-level with lambda_seg = 0 and
# lambda_adv_aux = 0, which leaves the main branch's training the same);
# lambda_adv 0.001. Paper: 41.4 mIoU.
_base_ = ['./deeplabv2_gta2cityscapes_multi-level.py']
model = dict(
    segmentor=dict(auxiliary_head=None),
    uda_cfg=dict(adv_weights=dict(_delete_=True, decode=0.001)))
