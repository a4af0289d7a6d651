# "AdvEnt + MinEnt", GTA5 -> Cityscapes (ADVENT's best, 45.5 mIoU): a
# test-time ensemble of the trained AdvEnt and MinEnt models. Like the
# official eval_UDA.py (advent+minent_pretrained.yml) it averages the two
# models' upsampled main-head *logits* with weights 0.5 / 0.5
# (combine='logits'; the paper speaks of averaging predictions). Train both
# configs, then:
#   python tools/test.py configs/advent/deeplabv2_gta2cityscapes_advent-minent-ensemble.py \
#       --cfg-options model.members.0.checkpoint=ADVENT.pth model.members.1.checkpoint=MINENT.pth
_base_ = [
    '../_base_/models/deeplabv2_r101_multilevel.py',
    '../_base_/datasets/uda_gta2cityscapes.py',
    '../_base_/schedules/sgd_poly.py', '../_base_/default_runtime.py'
]
segmentor = _base_.model
segmentor.pretrained = None
model = dict(
    _delete_=True,
    type='EnsembleSegmentor',
    data_preprocessor=segmentor.data_preprocessor,
    combine='logits',
    members=[
        dict(model=segmentor,
             checkpoint='work_dirs/deeplabv2_gta2cityscapes_advent/'
             'best_mIoU.pth',
             prefix='segmentor', weight=0.5),
        dict(model=segmentor,
             checkpoint='work_dirs/deeplabv2_gta2cityscapes_minent/'
             'best_mIoU.pth',
             prefix='segmentor', weight=0.5),
    ])
train_dataloader = None
train_cfg = None
optim_wrapper = None
param_scheduler = None
