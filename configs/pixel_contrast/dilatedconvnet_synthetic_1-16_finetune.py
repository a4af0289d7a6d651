# Label-based pixel contrastive pretraining, stage 2: supervised/
# dilatedconvnet_synthetic_1-16.py (pixel CE on the 300 labelled images, a
# fresh decode head) whose backbone starts from the stage-1 checkpoint
# (dilatedconvnet_synthetic_1-16_pretrain.py; its projection head is not
# loaded), for 2000 iterations: with stage 1's 1000, the same 3000 as the
# CE-only baseline. tools/pretrain_finetune.py sets the checkpoint path
# (pretrain_checkpoint below is where stage 1 writes it by default).
_base_ = ['../supervised/dilatedconvnet_synthetic_1-16.py']
finetune_iters = 2000
pretrain_checkpoint = ('work_dirs/dilatedconvnet_synthetic_1-16_pretrain/'
                       'iter_1000.pth')
model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint=pretrain_checkpoint,
            prefix='backbone.')))
train_cfg = dict(max_iters=finetune_iters)
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=0.9,
        begin=0,
        end=finetune_iters,
        by_epoch=False)
]
default_hooks = dict(checkpoint=dict(interval=finetune_iters))
