# ELN's segmenter: DeepLabv3+ ResNet-101 at output stride 16 (official
# modeling/deeplab.py), its 256-channel decoder features feeding the
# classifier and ELN's projector (256 -> 256 -> 128), no auxiliary head
# (ELN's auxiliary decoders are the method's, on detached features).
_base_ = ['./deeplabv3plus_r101.py']
model = dict(
    # mmseg's base marks its model with mmseg's scope; the segmentor type
    # is ours
    _scope_='semiseg_mm',
    type='ProjectedEncoderDecoder',
    backbone=dict(strides=(1, 2, 2, 1), dilations=(1, 1, 1, 2)),
    decode_head=dict(channels=256, dilations=(1, 6, 12, 18)),
    auxiliary_head=None,
    projector=dict(
        type='ProjectionHead', channels=256, out_channels=128, num_convs=2))
