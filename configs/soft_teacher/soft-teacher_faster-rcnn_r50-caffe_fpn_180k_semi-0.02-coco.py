# Soft Teacher, 2 % of COCO train2017 labelled (fold 1); otherwise the
# 10 % config (mmdet 3.3 reports 24.9 box AP).
_base_ = ['./soft-teacher_faster-rcnn_r50-caffe_fpn_180k_semi-0.1-coco.py']
labeled_dataset = _base_.labeled_dataset
unlabeled_dataset = _base_.unlabeled_dataset
labeled_dataset.ann_file = 'semi_anns/instances_train2017.1@2.json'
unlabeled_dataset.ann_file = 'semi_anns/instances_train2017.1@2-unlabeled.json'
train_dataloader = dict(
    dataset=dict(datasets=[labeled_dataset, unlabeled_dataset]))
