# FixMatch on 1/16 of the synthetic labels, as in
# dilatedconvnet_synthetic_1-16.py except which pseudo-labelled
# pixels the student learns from:
# ELN's error-localisation network (Kwon & Kwak, CVPR 2022), trained by an
# ELN run on the same split, accepts the pixels whose teacher prediction it
# judges correct (sigmoid > 0.5); the network is frozen.
# Train the ELN first:
#   python tools/train.py configs/eln/dilatedconvnet_synthetic_1-16.py \
#       --work-dir work_dirs/eln_synthetic_1-16
# Benchmark row fixmatch_eln (tools/label_efficiency.py --methods
# fixmatch_eln; it trains the ELN row of the same seed first and loads its
# final checkpoint; docs/benchmarks.md).
_base_ = [
    './dilatedconvnet_synthetic_1-16.py',
    '../_base_/models/eln_network_cpu.py'
]
model = dict(
    pseudo_label_filter=dict(
        _delete_=True,
        type='ELNFilter',
        network=_base_.eln_network_cpu,
        threshold=0.5,
        checkpoint='work_dirs/eln_synthetic_1-16/iter_3000.pth'))
