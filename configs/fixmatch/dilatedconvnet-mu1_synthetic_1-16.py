# FixMatch as in dilatedconvnet_synthetic_1-16.py with as many unlabelled as
# labelled images per batch (8 + 8, FixMatch's mu = 1 instead of 2): about
# half the unsupervised cost per iteration. `make demo` trains it (its
# faster row); the benchmark row keeps mu = 2 (8 + 16), which did better
# at the full schedule (docs/benchmarks.md).
_base_ = ['./dilatedconvnet_synthetic_1-16.py']
train_dataloader = dict(
    batch_size=16, sampler=dict(batch_size=16, source_ratio=[8, 8]))
