# Feature-level adversarial alignment ("FCNs in the Wild", the feature
# baseline AdaptSegNet compares with) on the synthetic domain pair: one
# FCDiscriminator on the features the main head classifies (32 channels of
# its fused 3x3 conv) instead of the softmax output; lambda_adv 0.001.
_base_ = ['./dilatedconvnet_synthetic-uda_multi-level.py']
model = dict(
    type='FeatureAdversarial',
    uda_cfg=dict(_delete_=True, adv_weights=dict(decode=0.001)))
