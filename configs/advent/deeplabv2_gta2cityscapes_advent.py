# AdvEnt, GTA5 -> Cityscapes (Vu et al., CVPR 2019; valeoai/ADVENT,
# advent/scripts/configs/advent.yml): AdaptSegNet's multi-level set-up with
# the discriminators on the weighted self-information maps; lambda_adv
# 0.001 (main) / 0.0002 (aux), early stop at 120k iterations.
# Paper: 43.8 mIoU (19 classes).
_base_ = ['../adaptsegnet/deeplabv2_gta2cityscapes_multi-level.py']
model = dict(type='AdvEnt')
train_cfg = dict(max_iters=120000)
