# ELN on 1/16 of the synthetic labels, as in dilatedconvnet_synthetic_1-16.py
# except that the error-localisation network and the auxiliary decoders keep
# learning on the labelled images during the semi-supervised stage (the
# official code's form; the paper freezes ELN there), so the mask follows the
# improving teacher instead of judging it with what it learnt of the student
# at iteration 1000.
# Benchmark row eln_train_in_semi (tools/label_efficiency.py --methods
# eln_train_in_semi; docs/benchmarks.md).
_base_ = ['./dilatedconvnet_synthetic_1-16.py']
model = dict(
    semi_train_cfg=dict(stages=[
        dict(name='pretrain', begin=0, end=500),
        dict(name='eln', begin=500, end=1000),
        dict(name='semi', begin=1000, end=3000, frozen=[]),
    ]))
