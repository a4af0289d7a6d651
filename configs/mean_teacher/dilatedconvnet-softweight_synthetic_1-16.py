# Mean Teacher on 1/16 of the synthetic labels, as in
# dilatedconvnet_synthetic_1-16.py, with the consistency cost restricted
# to (weighted by) the pixels a pseudo-label filter accepts:
# SoftMatch's weights (Chen et al., ICLR 2023): every pixel counts,
# those below the running mean confidence with a truncated-Gaussian
# weight.
# The same filter as FixMatch's
# fixmatch/dilatedconvnet-softweight_synthetic_1-16.py.
# Benchmark row mean_teacher_softweight (tools/label_efficiency.py
# --methods mean_teacher_softweight [--style shapes]; docs/benchmarks.md).
_base_ = ['./dilatedconvnet_synthetic_1-16.py']
model = dict(
    pseudo_label_filter=dict(
        type='SoftConfidenceWeight'))
