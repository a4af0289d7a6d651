# AdvEnt (Vu et al., CVPR 2019; valeoai/ADVENT, advent/scripts/configs/
# advent.yml): AdaptSegNet's multi-level set-up (adaptsegnet.py) with the
# discriminators judging the weighted self-information maps
# -p log2(p) / log2(C) instead of the softmax outputs. A config wraps its
# segmentor with it:
#   model = dict(_base_.advent, _delete_=True, segmentor=_base_.model)
_base_ = ['./adaptsegnet.py']
advent = dict(_base_.adaptsegnet, type='AdvEnt')
