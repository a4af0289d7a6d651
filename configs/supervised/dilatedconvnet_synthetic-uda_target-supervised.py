# Upper bound of the synthetic domain pair: the same model and schedule as
# the source-only baseline, trained on the 2000 target training images with
# their masks (which no adaptation method reads).
_base_ = ['./dilatedconvnet_synthetic-uda_source-only.py']
train_dataloader = dict(
    dataset=dict(
        data_root=_base_.data_root + '/target',
        data_prefix=dict(
            img_path='img_dir/train', seg_map_path='ann_dir/train')))
