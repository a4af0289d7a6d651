# ELN (Kwon & Kwak, CVPR 2022; kinux98/SSL_ELN): the method block, written
# once and reused by every ELN config. A config wraps its segmentor (a
# ProjectedEncoderDecoder: the segmenter with ELN's 2-layer projector on its
# decoder features, _base_/models/deeplabv3plus_r101_eln.py) and gives the
# stage table:
#   model = dict(_base_.eln, _delete_=True, segmentor=segmentor,
#                semi_train_cfg=dict(_base_.eln.semi_train_cfg, stages=[...]))
# and puts _base_.eln_unsup_branches at the end of its unlabelled pipeline
# (ELN's strong view: colour jitter 0.4/0.4/0.4/0.1 always, grayscale 0.2;
# no blur, no CutMix), and _base_.eln_hooks in custom_hooks.
# the error-localisation network: DeepLabv3+ on ResNet-34 whose first conv
# takes image + entropy + logits (ELNNetwork sets in_channels = 3 + 1 + C;
# the ImageNet ResNet-34 weights load for every other layer, as in the
# official code, which replaces conv1 after loading). with_cp: ELN learns
# from K + 1 = 3 predictions per iteration of the 'eln' stage, and holding
# the activations of all three passes until the backward pass made that
# stage the heaviest (3.8x supervised memory on the synthetic set); with it
# one pass's are held (2.5x), for one more ELN forward pass each
# (docs/benchmarks.md, "ELN"); with_cp=False trains the same weights.
eln_network = dict(
    type='ELNNetwork',
    with_cp=True,
    backbone=dict(
        type='ResNet',
        depth=34,
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 2),
        out_indices=(0, 1, 2, 3),
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet34')),
    decode_head=dict(
        type='DepthwiseSeparableASPPHead',
        in_channels=512,
        in_index=3,
        channels=256,
        dilations=(1, 6, 12, 18),
        c1_in_channels=64,
        c1_channels=48,
        dropout_ratio=0.1,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        align_corners=False))
eln = dict(
    type='ELN',
    # round(sigmoid(ELN)) in the official code: accept where > 0.5
    pseudo_label_filter=dict(
        type='ELNFilter', network=eln_network, threshold=0.5),
    semi_train_cfg=dict(
        aux_alphas=(20, 50),
        aux_weight=1.0,
        eln_weight=1.0,
        unsup_weight=1.0,
        contrast=dict(weight=1.0, tau=0.5, crop_size=32, num_crops=8)),
    semi_test_cfg=dict(predict_on='teacher'))
eln_branch_field = ['sup', 'unsup_teacher', 'unsup_student']
eln_strong_pipeline = [
    dict(
        type='RandomColorJitter',
        brightness=0.4,
        contrast=0.4,
        saturation=0.4,
        hue=0.1,
        prob=1.0),
    dict(type='RandomGrayscale', prob=0.2),
    dict(
        type='PackSegInputs',
        meta_keys=('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
                   'pad_shape', 'scale_factor', 'flip', 'flip_direction',
                   'reduce_zero_label')),
]
eln_unsup_branches = dict(
    type='mmdet.MultiBranch',
    branch_field=eln_branch_field,
    unsup_teacher=[dict(type='PackSegInputs')],
    unsup_student=eln_strong_pipeline)
# the EMA teacher (0.995) starts, as a copy of the student, at the first
# iteration of the 'semi' stage
eln_hooks = [dict(type='EMATeacherHook', momentum=0.995, buffer_mode='ema')]
