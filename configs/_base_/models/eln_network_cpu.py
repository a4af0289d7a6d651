# A small CPU error-localisation network for the synthetic configs: the
# DilatedConvNet body on image + entropy + logits (ELNNetwork sets its
# in_channels to 3 + 1 + C) and an FCN head giving one logit per pixel.
# The same network as eln/dilatedconvnet_synthetic_1-16.py trains, for
# configs that filter with a trained one.
eln_network_cpu = dict(
    type='ELNNetwork',
    # activation checkpointing of each of ELN's passes while it trains, as
    # in _base_/semi/eln.py
    with_cp=True,
    backbone=dict(
        type='DilatedConvNet',
        stem_channels=16,
        channels=32,
        dilations=(1, 2, 4, 1),
        stride=2,
        norm_cfg=dict(type='BN', requires_grad=True)),
    decode_head=dict(
        type='FCNHead',
        in_channels=[16, 32],
        in_index=[0, 1],
        input_transform='resize_concat',
        channels=32,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.0,
        norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=False,
        init_cfg=None))
