"""How good a trained detector teacher's pseudo-boxes are, per score threshold.

  python tools/pseudo_box_report.py CONFIG CHECKPOINT [--num 64]
      [--thrs 0.1 0.3 0.5 0.7 0.9] [--ann-file FILE]

On unlabelled training images with held-back boxes (the config's unlabelled
split file, or --ann-file), the teacher's boxes above each threshold per
image, and their precision / recall at IoU 0.5 against the held-back boxes
of the same class (the figures DetPseudoBoxHealthHook logs while training,
here swept over thresholds for a finished run).
"""
import argparse


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--num', type=int, default=64, help='probe images')
    p.add_argument('--thrs', type=float, nargs='+',
                   default=[0.1, 0.3, 0.5, 0.7, 0.9])
    p.add_argument('--ann-file', help='COCO file of the probe images '
                   "(default: the config's unlabelled split)")
    args = p.parse_args(argv)
    import types

    import semiseg_mm  # noqa: F401
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint
    init_default_scope('semiseg_mm_det')
    from semiseg_mm.det.hooks import DetPseudoBoxHealthHook
    from semiseg_mm.det.registry import MODELS
    cfg = Config.fromfile(args.config)
    model = MODELS.build(cfg.model)
    load_checkpoint(model, args.checkpoint, map_location='cpu')
    model.eval()
    probe = dict(num=args.num)
    if args.ann_file:
        probe['ann_file'] = args.ann_file
    hook = DetPseudoBoxHealthHook(probe=probe)
    hook.before_train(types.SimpleNamespace(cfg=cfg))
    print('| score threshold | teacher boxes per image | held-back boxes per '
          'image | precision | recall |\n|---|---|---|---|---|')
    for thr in args.thrs:
        hook.score_thr = thr
        f = hook.probe_figures(model)
        print(f'| {thr:g} | {f["probe_boxes"]:.3f} | {f["gt_boxes"]:.3f} | '
              f'{f["box_precision"]:.3f} | {f["box_recall"]:.3f} |')


if __name__ == '__main__':
    main()
