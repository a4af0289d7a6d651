# DACS (Tranheden et al., WACV 2021; vikolss/DACS, configs/configUDA.json):
# cross-entropy on mixed images (ClassMix: half the classes of each source
# crop pasted into a target crop, then colour jitter and blur), their target
# pixels labelled by an EMA teacher (momentum 0.99) that normalises each
# target batch by its own BatchNorm statistics, as the official
# training-mode EMA model does, and weighted by the share of target pixels
# whose teacher confidence passes 0.968. A config wraps its segmentor with
# it:
#   model = dict(_base_.dacs, _delete_=True, segmentor=_base_.model)
dacs = dict(
    type='DACS',
    pseudo_label_filter=dict(type='ConfidenceFilter', threshold=0.968),
    uda_cfg=dict(mix_weight=1.0, pixel_weight='uniform', teacher_norm='batch'))
custom_hooks = [
    dict(type='EMATeacherHook', momentum=0.99, student='segmentor')
]
