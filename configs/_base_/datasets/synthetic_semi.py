# Semi-supervised synthetic set: labelled images from a split file and the
# rest of the training images as unlabelled (no masks read), 8 + 8 per batch
# (SemiSourceSampler). Views: see semi_views.py; the flip runs before
# MultiBranch so the weak and strong views share it.
_base_ = ['./synthetic.py', './semi_views.py']
labeled_bs = 8
unlabeled_bs = 8
sup_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    _base_.sup_branch,
]
unsup_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomFlip', prob=0.5),
    _base_.unsup_branches,
]
train_dataloader = dict(
    _delete_=True,
    batch_size=labeled_bs + unlabeled_bs,
    num_workers=0,
    sampler=dict(
        type='SemiSourceSampler',
        batch_size=labeled_bs + unlabeled_bs,
        source_ratio=[labeled_bs, unlabeled_bs]),
    dataset=dict(
        type='SemiDataset',
        labeled=dict(
            type=_base_.dataset_type,
            data_root=_base_.data_root,
            data_prefix=dict(
                img_path='img_dir/train', seg_map_path='ann_dir/train'),
            ann_file='splits/1-16_seed0/labeled.txt',
            pipeline=sup_pipeline),
        unlabeled=dict(
            type=_base_.dataset_type,
            data_root=_base_.data_root,
            data_prefix=dict(img_path='img_dir/train'),
            ann_file='splits/1-16_seed0/unlabeled.txt',
            with_label=False,
            pipeline=unsup_pipeline)))
# Pseudo-label health (PseudoLabelHealthHook, in the teacher-student
# configs' custom_hooks): accepted share and pseudo-class histogram of the
# training batches, and on a probe of 64 unlabelled images whose masks
# the benchmark layout has (ann_dir/train) the pseudo-label accuracy and the
# filter's F1 at finding wrong pixels; warns when the pseudo-labels
# collapse. Every 500 iterations it draws 4 probe images (the accepted
# pseudo-labels and which rejected pixels were really wrong) into
# vis_data/vis_image/pseudo_label_probe_<iter>.png. With truly unlabelled data, drop the probe or point it at masks
# of held-back images (probe.ann_file lists their ids).
health_hook = dict(
    type='PseudoLabelHealthHook',
    interval=100,
    probe=dict(seg_map_path='ann_dir/train', num=64),
    vis_interval=500)
