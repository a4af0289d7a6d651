# AdvEnt on the synthetic domain pair: AdaptSegNet's set-up (multi-level,
# one FCDiscriminator per level, lambda_adv 0.001 / 0.0002, vanilla GAN)
# with the discriminators judging the weighted self-information maps
# -p log2(p) / log2(C) instead of the softmax outputs.
_base_ = ['../adaptsegnet/dilatedconvnet_synthetic-uda_multi-level.py']
model = dict(type='AdvEnt')
