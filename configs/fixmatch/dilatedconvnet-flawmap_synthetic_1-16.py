# FixMatch on 1/16 of the synthetic labels, as in
# dilatedconvnet_synthetic_1-16.py except which pseudo-labelled
# pixels the student learns from:
# GCT's flaw-map choice (Ke et al., ECCV 2020): the flaw detector of a GCT
# run on the same split judges the teacher's prediction, and the pixels
# whose processed flaw map (blurred, min-max normalised per image) is at
# most xi = 0.6 are kept; the detector is frozen.
# Train the GCT first:
#   python tools/train.py configs/gct/dilatedconvnet_synthetic_1-16.py \
#       --work-dir work_dirs/gct_synthetic_1-16
# Benchmark row fixmatch_flawmap (tools/label_efficiency.py --methods
# fixmatch_flawmap; it trains the GCT row of the same seed first and loads
# its final checkpoint; docs/benchmarks.md).
_base_ = ['./dilatedconvnet_synthetic_1-16.py']
model = dict(
    pseudo_label_filter=dict(
        _delete_=True,
        type='FlawMapFilter',
        # the GCT synthetic config's detector (scaled to 64 px)
        detector=dict(
            type='FlawDetector',
            channels=(16, 32, 32, 64, 64, 128, 128),
            strides=(2, 2, 1, 1, 1, 1, 1)),
        xi=0.6,
        checkpoint='work_dirs/gct_synthetic_1-16/iter_3000.pth'))
