# Semi-supervised VOC aug: labelled ids from a split file, the split's
# unlabeled.txt as unlabelled images (no masks read), `labeled_bs` +
# `unlabeled_bs` images per GPU. The geometric transforms run before
# MultiBranch, so the weak (teacher) and strong (student) views of an
# unlabelled image share them and pseudo-labels line up with the student
# (views: semi_views.py). ./semi_splits/voc_aug_*.py pick the split.
_base_ = ['./voc_aug.py', './semi_views.py']
labeled_bs = 2
unlabeled_bs = 2
geometric = [
    dict(
        type='RandomResize',
        scale=(2048, 512),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=_base_.crop_size),
    dict(type='RandomFlip', prob=0.5),
]
sup_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    *geometric,
    _base_.sup_branch,
]
unsup_pipeline = [
    dict(type='LoadImageFromFile'),
    *geometric,
    _base_.unsup_branches,
]
train_dataloader = dict(
    _delete_=True,
    batch_size=labeled_bs + unlabeled_bs,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(
        type='SemiSourceSampler',
        batch_size=labeled_bs + unlabeled_bs,
        source_ratio=[labeled_bs, unlabeled_bs]),
    dataset=dict(
        type='SemiDataset',
        labeled=dict(
            type='PascalVOCAugDataset',
            data_root=_base_.data_root,
            data_prefix=dict(
                img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
            ann_file='splits/1-16_seed0/labeled.txt',
            pipeline=sup_pipeline),
        unlabeled=dict(
            type='PascalVOCAugDataset',
            data_root=_base_.data_root,
            data_prefix=dict(img_path='JPEGImages'),
            ann_file='splits/1-16_seed0/unlabeled.txt',
            with_label=False,
            pipeline=unsup_pipeline)))
# Pseudo-label health (PseudoLabelHealthHook, in the teacher-student
# configs' custom_hooks): accepted share and pseudo-class histogram of the
# training batches, and on a probe of 16 unlabelled images whose masks
# the benchmark layout has (SegmentationClassAug) the pseudo-label accuracy and the
# filter's F1 at finding wrong pixels; warns when the pseudo-labels
# collapse. With truly unlabelled data, drop the probe or point it at masks
# of held-back images (probe.ann_file lists their ids).
health_hook = dict(
    type='PseudoLabelHealthHook',
    interval=100,
    probe=dict(seg_map_path='SegmentationClassAug', num=16))
