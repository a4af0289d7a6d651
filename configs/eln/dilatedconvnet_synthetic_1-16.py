# ELN on 1/16 of the synthetic labels (300 labelled + 4500 unlabelled
# images, 8 + 8 per batch), the CPU model, labelled batch and 3000-iteration
# schedule of supervised/dilatedconvnet_synthetic_1-16.py, in three stages:
#   [0, 500)     supervised pre-training of the segmenter
#   [500, 1000)  + two auxiliary decoders (constrained CE, alpha 20 / 50) and
#                the error-localisation network learning where predictions
#                are wrong
#   [1000, 3000) + the EMA teacher's (0.995) pseudo-labels where ELN accepts
#                them, CE on the weak and the strong view, and the pixel
#                contrastive loss (ELN and the auxiliary decoders frozen)
# The ELN network is a small CPU one (_base_/models/eln_network_cpu.py: the
# DilatedConvNet body on image + entropy + logits, one logit per pixel); the
# projector is 32 -> 16. Memory: the student's backbone and decode head are
# checkpointed while training (backbone.with_cp, decode_with_cp: only their
# inputs kept, run again in the backward pass, batch-norm statistics updated
# once), as is the ELN network (_base_/models/eln_network_cpu.py); with them
# every stage stays under 2.5x supervised memory, the semi stage's 8 + 8 + 8
# images included (docs/benchmarks.md, "ELN"). They train the same weights;
# False for all three is faster.
_base_ = [
    '../_base_/models/dilated_convnet.py',
    '../_base_/datasets/synthetic_semi.py',
    '../_base_/schedules/synthetic_cpu.py', '../_base_/default_runtime.py',
    '../_base_/semi/eln.py', '../_base_/models/eln_network_cpu.py'
]
segmentor = dict(
    _base_.model,
    type='ProjectedEncoderDecoder',
    backbone=dict(_base_.model.backbone, with_cp=True),
    decode_with_cp=True,
    projector=dict(
        type='ProjectionHead', channels=32, out_channels=16, num_convs=2))
model = dict(
    _base_.eln,
    _delete_=True,
    segmentor=segmentor,
    data_preprocessor=dict(
        type='mmdet.MultiBranchDataPreprocessor',
        data_preprocessor=_base_.model.data_preprocessor),
    pseudo_label_filter=dict(
        _base_.eln.pseudo_label_filter, network=_base_.eln_network_cpu),
    semi_train_cfg=dict(
        _base_.eln.semi_train_cfg,
        # 8 crops of 8 x 8 of the full-resolution 64 px projections (the
        # official 32 x 32 crops are a quarter of the side of its
        # 1/4-resolution maps): the loss costs (images x crop area)^2, 0.03 s
        # per view here against 0.49 s with 16 x 16 crops (1 thread)
        contrast=dict(weight=1.0, tau=0.5, crop_size=8, num_crops=8),
        stages=[
            dict(name='pretrain', begin=0, end=500),
            dict(name='eln', begin=500, end=1000),
            dict(name='semi', begin=1000, end=3000),
        ]))
train_dataloader = dict(
    dataset=dict(
        unlabeled=dict(pipeline=_base_.unsup_pipeline[:-1] +
                       [_base_.eln_unsup_branches])))
custom_hooks = _base_.eln_hooks + [_base_.health_hook]
val_cfg = dict(type='mmdet.TeacherStudentValLoop')
