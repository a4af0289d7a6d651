# Label-based pixel contrastive pretraining, stage 1, on the 300 labelled
# images of the synthetic 1/16 split (no unlabelled images): the CPU
# model's backbone + a projection head (3 x 1x1 conv, 64 channels here
# instead of the paper's 256 for a 32-channel backbone, L2-normalised)
# learn with the cross-image pixel contrastive loss (tau 0.07) for 1000
# iterations. Pixel budget 2000 per batch of 8 images x 2 views (125 of each
# 32 x 32 feature map): the default 10000 costs 0.63 s per iteration here,
# six times the network's passes, against 0.02 s
# (tools/benchmark_contrast.py --images 8 --channels 64 --sides 32
# --threads 1, docs/benchmarks.md). Stage 2:
# dilatedconvnet_synthetic_1-16_finetune.py (2000 iterations: 3000 in all,
# as supervised/dilatedconvnet_synthetic_1-16.py). Both at once:
#   python tools/pretrain_finetune.py \
#       configs/pixel_contrast/dilatedconvnet_synthetic_1-16_pretrain.py \
#       configs/pixel_contrast/dilatedconvnet_synthetic_1-16_finetune.py
_base_ = [
    '../_base_/models/dilated_convnet.py', '../_base_/datasets/synthetic.py',
    '../_base_/schedules/synthetic_cpu.py', '../_base_/default_runtime.py',
    '../_base_/datasets/pixel_contrast_views.py',
    '../_base_/semi/pixel_contrast.py'
]
pretrain_iters = 1000
model = dict(
    _base_.pixel_contrast,
    _delete_=True,
    backbone=_base_.model.backbone,
    projection_head=dict(
        _base_.pixel_contrast.projection_head,
        in_channels=32,
        channels=64,
        out_channels=64),
    loss_contrast=dict(_base_.pixel_contrast.loss_contrast, max_pixels=2000),
    data_preprocessor=dict(
        type='mmdet.MultiBranchDataPreprocessor',
        data_preprocessor=_base_.model.data_preprocessor))
train_dataloader = dict(
    dataset=dict(pipeline=_base_.train_pipeline[:-1] +
                 [_base_.pixel_contrast_branches]))
train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=pretrain_iters)
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=0.9,
        begin=0,
        end=pretrain_iters,
        by_epoch=False)
]
default_hooks = dict(checkpoint=dict(interval=pretrain_iters))
# stage 1 has no classifier: nothing to validate or test
val_cfg = val_dataloader = val_evaluator = None
test_cfg = test_dataloader = test_evaluator = None
