# AdvEnt, SYNTHIA -> Cityscapes on the 16 classes both have (ADVENT's
# second benchmark): the GTA5 config's method and schedule on the SYNTHIA
# pair (configs/_base_/datasets/uda_synthia2cityscapes.py), 16-class heads;
# the evaluator reports mIoU over the 16 classes and mIoU13 over the 13
# without wall, fence and pole. Paper: 41.2 mIoU (16 classes).
_base_ = [
    '../_base_/models/deeplabv2_r101_multilevel.py',
    '../_base_/datasets/uda_synthia2cityscapes.py',
    '../_base_/uda/adversarial_sgd.py', '../_base_/default_runtime.py',
    '../_base_/uda/advent.py'
]
segmentor = _base_.model
segmentor.decode_head.num_classes = 16
segmentor.auxiliary_head.num_classes = 16
model = dict(_base_.advent, _delete_=True, segmentor=segmentor)
train_cfg = dict(max_iters=120000)
