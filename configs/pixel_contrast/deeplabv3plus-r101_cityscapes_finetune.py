# Label-based pixel contrastive pretraining, stage 2 on Cityscapes 1/8:
# supervised/deeplabv3plus-r101_cityscapes_1-8.py (pixel CE on the 372
# labelled images, mmseg's 80k schedule, a fresh decode head and auxiliary
# head) whose backbone starts from the stage-1 checkpoint
# (deeplabv3plus-r101_cityscapes_pretrain.py) instead of ImageNet;
# tools/pretrain_finetune.py sets the path.
_base_ = ['../supervised/deeplabv3plus-r101_cityscapes_1-8.py']
pretrain_checkpoint = ('work_dirs/deeplabv3plus-r101_cityscapes_pretrain/'
                       'iter_20000.pth')
model = dict(
    pretrained=None,
    backbone=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint=pretrain_checkpoint,
            prefix='backbone.')))
