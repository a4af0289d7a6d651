# AdaptSegNet, multi-level output-space adaptation (Tsai et al., CVPR 2018;
# wasidennis/AdaptSegNet), the method block every dataset's config reuses:
# one FCDiscriminator per output level (main and auxiliary head) on the
# softmax outputs, lambda_adv 0.001 (main) and 0.0002 (aux), vanilla GAN
# (BCE with logits). A config wraps its mmseg segmentor with it:
#   model = dict(_base_.adaptsegnet, _delete_=True, segmentor=_base_.model)
# (the MultiBranchDataPreprocessor around the segmentor's preprocessor is
# the segmentor's default). Optimisers: adversarial_sgd.py (real data) or
# adversarial_cpu.py (the synthetic pair).
adaptsegnet = dict(
    type='AdaptSegNet',
    discriminator=dict(type='FCDiscriminator', base_channels=64),
    uda_cfg=dict(
        adv_weights=dict(decode=0.001, aux=0.0002), gan_type='vanilla'))
