# FixMatch on 1/16 of the synthetic labels, as in
# dilatedconvnet_synthetic_1-16.py except which pseudo-labelled
# pixels the student learns from:
# U2PL's rule (Wang et al., CVPR 2022): the 20 % highest-entropy pixels
# of each pseudo-class are dropped, a share shrinking to 0 over
# training.
# Benchmark row fixmatch_entropyrank (tools/label_efficiency.py
# --methods fixmatch_entropyrank [--style shapes]; docs/benchmarks.md).
_base_ = ['./dilatedconvnet_synthetic_1-16.py']
model = dict(
    pseudo_label_filter=dict(
        _delete_=True,
        type='EntropyRankFilter',
        keep=0.8))
