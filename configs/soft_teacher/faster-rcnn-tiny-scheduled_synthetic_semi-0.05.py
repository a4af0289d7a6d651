# The scheduled-share variant: the labelled share of each batch of 8 falls
# linearly from 0.5 (4 labelled) at the first iteration to 0 at the last
# (ScheduledSourceSampler); otherwise faster-rcnn-tiny_synthetic_semi-0.05.py.
_base_ = ['./faster-rcnn-tiny_synthetic_semi-0.05.py']
train_dataloader = dict(
    sampler=dict(
        _delete_=True,
        type='ScheduledSourceSampler',
        batch_size=_base_.batch_size,
        num_batches=_base_.max_iters,
        start=0.5,
        end=0.0,
        schedule='linear'))
