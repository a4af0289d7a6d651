# dilatedconvnet_synthetic_1-16_pretrain.py with the within-image variant of the
# pixel contrastive loss (the ablation of docs/benchmarks.md; fine-tune it
# with dilatedconvnet_synthetic_1-16_finetune.py)
_base_ = ['./dilatedconvnet_synthetic_1-16_pretrain.py']
model = dict(loss_contrast=dict(variant='within_image'))
