# Mean Teacher on 1/16 of the synthetic labels, as in
# dilatedconvnet_synthetic_1-16.py, with the consistency cost restricted
# to (weighted by) the pixels a pseudo-label filter accepts:
# FlexMatch's per-class thresholds (Zhang et al., NeurIPS 2021): the
# best-learnt class keeps 0.95, rarer or harder classes are accepted
# lower.
# The same filter as FixMatch's
# fixmatch/dilatedconvnet-classadaptive_synthetic_1-16.py.
# Benchmark row mean_teacher_classadaptive (tools/label_efficiency.py
# --methods mean_teacher_classadaptive [--style shapes]; docs/benchmarks.md).
_base_ = ['./dilatedconvnet_synthetic_1-16.py']
model = dict(
    pseudo_label_filter=dict(
        type='ClassAdaptiveThreshold',
        threshold=0.95))
