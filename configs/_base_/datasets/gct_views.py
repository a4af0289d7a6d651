# Views of GCT's training batches (mmdet's MultiBranch branches): one view
# per image, 'sup' for labelled and 'unsup' for unlabelled images. GCT uses
# no strong augmentation; the geometric transforms (random scale, crop,
# flip) run before MultiBranch.
gct_branch_field = ['sup', 'unsup']
gct_sup_view = dict(
    type='mmdet.MultiBranch',
    branch_field=gct_branch_field,
    sup=[dict(type='PackSegInputs')])
gct_unsup_view = dict(
    type='mmdet.MultiBranch',
    branch_field=gct_branch_field,
    unsup=[dict(type='PackSegInputs')])
