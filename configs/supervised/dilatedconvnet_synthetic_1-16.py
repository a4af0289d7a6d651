# Supervised-only baseline on 1/16 of the synthetic labels (300 images): the
# lower bound every semi-supervised method is compared with.
_base_ = [
    '../_base_/models/dilated_convnet.py', '../_base_/datasets/synthetic.py',
    '../_base_/schedules/synthetic_cpu.py', '../_base_/default_runtime.py'
]
train_dataloader = dict(
    dataset=dict(ann_file='splits/1-16_seed0/labeled.txt'))
