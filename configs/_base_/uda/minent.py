# MinEnt (ADVENT, advent/scripts/configs/minent.yml): source supervision +
# lambda_ent x the mean normalised entropy of the target predictions,
# 0.001 (main head) and 0.0002 (auxiliary head); no discriminator, one
# optimiser. A config wraps its segmentor with it:
#   model = dict(_base_.minent, _delete_=True, segmentor=_base_.model)
minent = dict(
    type='MinEnt', uda_cfg=dict(ent_weights=dict(decode=0.001, aux=0.0002)))
