# "AdvEnt + MinEnt" on the synthetic domain pair: ADVENT's best result is a
# test-time ensemble of an AdvEnt and a MinEnt model, each trained with its
# own config; like the official eval_UDA.py it averages their main-head
# logits with weights 0.5 / 0.5 (combine='logits'). Train
# both, then evaluate without a checkpoint argument (each member loads its
# own):
#   python tools/train.py configs/advent/dilatedconvnet_synthetic-uda_advent.py
#   python tools/train.py configs/advent/dilatedconvnet_synthetic-uda_minent.py
#   python tools/test.py configs/advent/dilatedconvnet_synthetic-uda_advent-minent-ensemble.py
# (other checkpoints: --cfg-options model.members.0.checkpoint=... ).
_base_ = [
    '../_base_/models/dilated_convnet_multilevel.py',
    '../_base_/datasets/synthetic_uda.py',
    '../_base_/schedules/synthetic_cpu.py', '../_base_/default_runtime.py'
]
segmentor = _base_.model
model = dict(
    _delete_=True,
    type='EnsembleSegmentor',
    data_preprocessor=segmentor.data_preprocessor,
    combine='logits',
    members=[
        dict(
            model=segmentor,
            checkpoint='work_dirs/dilatedconvnet_synthetic-uda_advent/'
            'iter_3000.pth',
            prefix='segmentor',
            weight=0.5),
        dict(
            model=segmentor,
            checkpoint='work_dirs/dilatedconvnet_synthetic-uda_minent/'
            'iter_3000.pth',
            prefix='segmentor',
            weight=0.5),
    ])
# evaluation only: nothing to train
train_dataloader = None
train_cfg = None
optim_wrapper = None
param_scheduler = None
