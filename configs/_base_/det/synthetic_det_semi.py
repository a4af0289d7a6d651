# Semi-supervised synthetic detection set (tools/make_synthetic.py --only det
# writes it with its splits): 64 px scenes, 5 object classes, COCO boxes;
# 2,000 training, 200 val and 500 test images. Labelled images with their boxes and the other training images
# without (their boxes stay in the -unlabeled file for the health view
# only), 4 + 4 per batch by default; views as in mmdet's
# semi_coco_detection.py, sized for 64 px images.
dataset_type = 'CocoDataset'
data_root = 'data/synthetic_det/'
metainfo = dict(
    classes=('disc', 'square', 'triangle', 'ring', 'cross'),
    palette=[(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200),
             (245, 130, 48)])
# the split: fold k of percent p (tools/split_coco.py)
percent = 5
fold = 1
labeled_ann = f'semi_anns/instances_train.{fold}@{percent}.json'
unlabeled_ann = f'semi_anns/instances_train.{fold}@{percent}-unlabeled.json'

color_space = [
    [dict(type='ColorTransform')],
    [dict(type='AutoContrast')],
    [dict(type='Equalize')],
    [dict(type='Sharpness')],
    [dict(type='Posterize')],
    [dict(type='Solarize')],
    [dict(type='Color')],
    [dict(type='Contrast')],
    [dict(type='Brightness')],
]
geometric = [
    [dict(type='Rotate', max_mag=15.0)],
    [dict(type='ShearX')],
    [dict(type='ShearY')],
    [dict(type='TranslateX', max_mag=0.05)],
    [dict(type='TranslateY', max_mag=0.05)],
]
# scale jitter around the native 64 px (mmdet: 400-1200 short side for COCO)
scale = [(56, 56), (72, 72)]
branch_field = ['sup', 'unsup_teacher', 'unsup_student']
meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor',
             'flip', 'flip_direction', 'homography_matrix')
sup_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomResize', scale=scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandAugment', aug_space=color_space, aug_num=1),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1e-2, 1e-2)),
    dict(
        type='MultiBranch',
        branch_field=branch_field,
        sup=dict(type='PackDetInputs'))
]
weak_pipeline = [
    dict(type='RandomResize', scale=scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs', meta_keys=meta_keys),
]
strong_pipeline = [
    dict(type='RandomResize', scale=scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomOrder',
        transforms=[
            dict(type='RandAugment', aug_space=color_space, aug_num=1),
            dict(type='RandAugment', aug_space=geometric, aug_num=1),
        ]),
    dict(type='RandomErasing', n_patches=(1, 3), ratio=(0, 0.2)),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1e-2, 1e-2)),
    dict(type='PackDetInputs', meta_keys=meta_keys),
]
unsup_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadEmptyAnnotations'),
    dict(
        type='MultiBranch',
        branch_field=branch_field,
        unsup_teacher=weak_pipeline,
        unsup_student=strong_pipeline),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    # the native size; Resize records the scale factor predictions need
    dict(type='Resize', scale=(64, 64), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]
labeled_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    metainfo=metainfo,
    ann_file=labeled_ann,
    data_prefix=dict(img='images/train/'),
    filter_cfg=dict(filter_empty_gt=True),
    pipeline=sup_pipeline)
unlabeled_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    metainfo=metainfo,
    ann_file=unlabeled_ann,
    data_prefix=dict(img='images/train/'),
    filter_cfg=dict(filter_empty_gt=False),
    pipeline=unsup_pipeline)
labeled_bs = 4
unlabeled_bs = 4
batch_size = labeled_bs + unlabeled_bs
train_dataloader = dict(
    batch_size=batch_size,
    num_workers=0,
    sampler=dict(
        type='SemiSourceSampler',
        batch_size=batch_size,
        source_ratio=[labeled_bs, unlabeled_bs]),
    batch_sampler=None,
    dataset=dict(
        type='ConcatDataset', datasets=[labeled_dataset, unlabeled_dataset]))
# val: where settings are chosen; test: what the benchmark reports
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='images/val/'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = dict(
    val_dataloader,
    dataset=dict(
        val_dataloader['dataset'],
        ann_file='annotations/instances_test.json',
        data_prefix=dict(img='images/test/')))
val_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + 'annotations/instances_val.json',
    metric='bbox',
    format_only=False)
test_evaluator = dict(
    val_evaluator, ann_file=data_root + 'annotations/instances_test.json')
