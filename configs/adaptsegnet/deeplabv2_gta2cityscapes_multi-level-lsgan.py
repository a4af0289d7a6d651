# AdaptSegNet, multi-level, least-squares GAN (the official README's
# `--gan LS`: MSE of the raw discriminator output against the domain
# label). The README notes the multi-level LS model needs smaller weights
# than the vanilla one: lambda_adv 0.00005 (aux) and 0.0005 (main); its
# single-level LS model uses 0.01.
_base_ = ['./deeplabv2_gta2cityscapes_multi-level.py']
model = dict(
    uda_cfg=dict(
        gan_type='lsgan',
        adv_weights=dict(_delete_=True, decode=0.0005, aux=0.00005)))
