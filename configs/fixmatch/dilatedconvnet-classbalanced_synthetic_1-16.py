# FixMatch on 1/16 of the synthetic labels, as in
# dilatedconvnet_synthetic_1-16.py except which pseudo-labelled
# pixels the student learns from:
# each pseudo-class keeps at most its labelled pixel frequency of the
# batch's pixels (its most confident ones): background cannot take
# over.
# Benchmark row fixmatch_classbalanced (tools/label_efficiency.py
# --methods fixmatch_classbalanced [--style shapes]; docs/benchmarks.md).
_base_ = ['./dilatedconvnet_synthetic_1-16.py']
model = dict(
    pseudo_label_filter=dict(
        _delete_=True,
        type='ClassBalancedFilter',
        threshold=0.0,
        cap=1.0))
