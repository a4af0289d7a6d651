# The scheduled-share variant of the 10 % COCO config: each GPU's batch of
# 5 holds round(5 x share) labelled images, the share falling linearly from
# 0.5 (3 labelled) at the first iteration to 0 (all unlabelled) at the last
# (ScheduledSourceSampler; mmdet keeps 1 labelled + 4 unlabelled
# throughout). Images are drawn ungrouped by aspect ratio.
_base_ = ['./soft-teacher_faster-rcnn_r50-caffe_fpn_180k_semi-0.1-coco.py']
train_dataloader = dict(
    sampler=dict(
        _delete_=True,
        type='ScheduledSourceSampler',
        batch_size=5,
        num_batches=180000,
        start=0.5,
        end=0.0,
        schedule='linear'))
