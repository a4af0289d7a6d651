# Feature-level adversarial alignment (Hoffman et al., "FCNs in the Wild"),
# the feature-adaptation baseline of AdaptSegNet's Table 1 (39.3 mIoU):
# one FCDiscriminator on the conv5 features (2048 ch) the main classifier
# sees, lambda_adv 0.001; no conv4 classifier.
_base_ = ['./deeplabv2_gta2cityscapes_single-level.py']
model = dict(type='FeatureAdversarial')
