# SYNTHIA-RAND-CITYSCAPES -> Cityscapes on the 16 classes both have: SYNTHIA
# images resized to 1280x760 (its native size), Cityscapes to 1024x512, 1 + 1
# per batch; the Cityscapes side keeps the 16 classes too (its other three
# train ids, terrain / truck / train, become 255), and the evaluator reports
# mIoU over the 16 and over the 13 the papers also give (no wall, fence,
# pole).
_base_ = ['./uda_gta2cityscapes.py']
SYNTHIA_CLASSES = ('road', 'sidewalk', 'building', 'wall', 'fence', 'pole',
                   'traffic light', 'traffic sign', 'vegetation', 'sky',
                   'person', 'rider', 'car', 'bus', 'motorcycle', 'bicycle')
SYNTHIA_CLASSES_13 = ('road', 'sidewalk', 'building', 'traffic light',
                      'traffic sign', 'vegetation', 'sky', 'person', 'rider',
                      'car', 'bus', 'motorcycle', 'bicycle')
source_type = 'SynthiaDataset'
source_root = 'data/synthia'
source_size = (1280, 760)
train_dataloader = dict(
    dataset=dict(
        source=dict(
            type=source_type,
            data_root=source_root,
            data_prefix=dict(img_path='RGB', seg_map_path='GT/LABELS'),
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadMappedAnnotations'),
                dict(type='Resize', scale=source_size, keep_ratio=False),
                _base_.source_pipeline[-1],
            ]),
        target=dict(metainfo=dict(classes=SYNTHIA_CLASSES))))
val_dataloader = dict(dataset=dict(metainfo=dict(classes=SYNTHIA_CLASSES)))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='ClassSubsetIoUMetric',
    iou_metrics=['mIoU'],
    subsets=dict(mIoU13=SYNTHIA_CLASSES_13))
test_evaluator = val_evaluator
