# FixMatch on 1/16 of the synthetic labels, as in
# dilatedconvnet_synthetic_1-16.py except which pseudo-labelled
# pixels the student learns from:
# FlexMatch's per-class thresholds (Zhang et al., NeurIPS 2021): the
# best-learnt class keeps 0.95, rarer or harder classes are accepted
# lower.
# Benchmark row fixmatch_classadaptive (tools/label_efficiency.py
# --methods fixmatch_classadaptive [--style shapes]; docs/benchmarks.md).
_base_ = ['./dilatedconvnet_synthetic_1-16.py']
model = dict(
    pseudo_label_filter=dict(
        _delete_=True,
        type='ClassAdaptiveThreshold',
        threshold=0.95))
