# Supervised on all synthetic labels (4800 images): the upper bound.
_base_ = ['./dilatedconvnet_synthetic_1-16.py']
train_dataloader = dict(dataset=dict(ann_file=''))
