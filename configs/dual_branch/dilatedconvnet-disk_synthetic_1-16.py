# Strong-weak dual branch with weak masks read from disk, on 1/16 of the
# synthetic labels: 300 images with their masks train the strong head, the
# 4500 other training images with weak masks (weak_dir/train/<id>.png, e.g.
# a trained model's predictions written by tools/make_weak_masks.py, or any
# coarse / noisy annotation with the same class ids) train the weak head;
# 8 + 8 per batch, no teacher. Masks missing from weak_dir, or holding other
# class ids, stop the run before training, naming the file.
#   python tools/make_weak_masks.py configs/supervised/dilatedconvnet_synthetic_1-16.py \
#       SUPERVISED.pth --out data/synthetic/weak_dir/train \
#       --ids data/synthetic/splits/1-16_seed0/unlabeled.txt
_base_ = ['./dilatedconvnet_synthetic_1-16.py']
weak_branch_field = ['sup', 'weak']
model = dict(
    _delete_=True,
    type='DualBranch',
    segmentor=_base_.segmentor,
    data_preprocessor=_base_.model.data_preprocessor,
    semi_train_cfg=dict(unsup_weight=1.0, sup_weight=1.0),
    semi_test_cfg=dict(predict_on='student'))
train_dataloader = dict(
    batch_size=16,
    sampler=dict(batch_size=16, source_ratio=[8, 8]),
    dataset=dict(
        labeled=dict(pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations'),
            dict(type='RandomFlip', prob=0.5),
            dict(type='mmdet.MultiBranch', branch_field=weak_branch_field,
                 sup=[dict(type='PackSegInputs')]),
        ]),
        unlabeled=dict(
            with_label=True,
            # decode every weak mask and check its values when the dataset
            # is built (seconds here), so a bad one stops before training
            verify=True,
            data_prefix=dict(
                img_path='img_dir/train', seg_map_path='weak_dir/train'),
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations'),
                dict(type='RandomFlip', prob=0.5),
                dict(type='mmdet.MultiBranch', branch_field=weak_branch_field,
                     weak=[dict(type='PackSegInputs')]),
            ])))
custom_hooks = []
val_cfg = dict(_delete_=True, type='ValLoop')
