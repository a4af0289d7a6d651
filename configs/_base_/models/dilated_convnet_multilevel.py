# The synthetic benchmark's CPU model (dilated_convnet.py) with a second
# output level for multi-level domain adaptation, as DeepLabv2's conv4
# classifier next to the conv5 one: the backbone also returns the output
# of its third dilated conv, which an auxiliary FCN head (loss weight 0.1,
# AdaptSegNet's lambda_seg) classifies; the main head is unchanged.
_base_ = ['./dilated_convnet.py']
model = dict(
    backbone=dict(mid_outputs=(2, )),
    # levels: 0 stem (16 ch, full res), 1 mid body (32 ch), 2 body (32 ch)
    decode_head=dict(in_channels=[16, 32], in_index=[0, 2]),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=32,
        in_index=1,
        channels=16,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.0,
        num_classes=6,
        norm_cfg=_base_.norm_cfg,
        align_corners=False,
        init_cfg=None,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.1)))
