# Label-based pixel contrastive pretraining, stage 2 on VOC aug 1/16:
# supervised/deeplabv3plus-r101_voc_1-16.py (pixel CE on the 662 labelled
# images, 40k iterations, fresh heads) whose backbone starts from the stage-1
# checkpoint (deeplabv3plus-r101_voc_pretrain.py); tools/pretrain_finetune.py
# sets the path.
_base_ = ['../supervised/deeplabv3plus-r101_voc_1-16.py']
pretrain_checkpoint = 'work_dirs/deeplabv3plus-r101_voc_pretrain/iter_10000.pth'
model = dict(
    pretrained=None,
    backbone=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint=pretrain_checkpoint,
            prefix='backbone.')))
