# Strong-weak dual branch (Luo & Yang, ECCV 2021; no public code): the
# method block, written once and reused by every dual-branch config. A
# config wraps its segmentor (the strong head is its decode_head; the weak
# head defaults to a copy of it):
#   model = dict(_base_.dual_branch, segmentor=segmentor,
#                data_preprocessor=dict(type='mmdet.MultiBranchDataPreprocessor',
#                                       data_preprocessor=...))
# TeacherDualBranch: an EMA teacher's pseudo-labels on the weak view of each
# unlabelled image train the weak head on the strong view (CutMix); the
# ground truth trains the strong head; inference uses the strong head
# (EMATeacherHook in custom_hooks). DualBranch reads weak masks from disk
# instead (a 'weak' batch branch, see dilatedconvnet-disk_synthetic_1-16.py).
dual_branch = dict(
    type='TeacherDualBranch',
    # every pseudo-label goes to the weak head (absorbing their noise is its
    # reason to exist); a pseudo_label_filter can keep only some
    pseudo_label_filter=None,
    semi_train_cfg=dict(cutmix=True, unsup_weight=1.0, sup_weight=1.0),
    semi_test_cfg=dict(predict_on='teacher'))
