# FixMatch on 1/16 of the synthetic labels, as in
# dilatedconvnet_synthetic_1-16.py except which pseudo-labelled
# pixels the student learns from:
# SoftMatch's weights (Chen et al., ICLR 2023): every pixel counts,
# those below the running mean confidence with a truncated-Gaussian
# weight.
# Benchmark row fixmatch_softweight (tools/label_efficiency.py
# --methods fixmatch_softweight [--style shapes]; docs/benchmarks.md).
_base_ = ['./dilatedconvnet_synthetic_1-16.py']
model = dict(
    pseudo_label_filter=dict(
        _delete_=True,
        type='SoftConfidenceWeight'))
