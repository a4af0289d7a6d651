# GCT with strong views, CE dynamic consistency (as
# dilatedconvnet-strong-ce_synthetic_1-16.py) and one more extension beyond
# the paper, ema_guidance: the weak-view predictions and flaw maps that set
# each model's DC targets and masks come from EMA copies of the task models
# (ema1, ema2; teacher share 0.99 as FixMatch's synthetic config), so each
# model learns from a slowly moving average of the other instead of the
# other's current prediction. Model 1 predicts and is the reported row; the
# validation also logs model2, ensemble, ema1 and ema2.
# Result (docs/benchmarks.md): no better than without the EMAs, below
# supervised-only: model 1 51.51 / 56.45 / 57.07 on seeds 0 / 1 / 2
# (supervised 1/16 55.37 / 57.52 / 57.28).
_base_ = ['./dilatedconvnet-strong-ce_synthetic_1-16.py']
model = dict(semi_train_cfg=dict(ema_guidance=True))
custom_hooks = [
    dict(
        type='EMATeacherHook',
        momentum=0.99,
        buffer_mode='ema',
        student='model1',
        teacher='ema1'),
    dict(
        type='EMATeacherHook',
        momentum=0.99,
        buffer_mode='ema',
        student='model2',
        teacher='ema2'),
]
