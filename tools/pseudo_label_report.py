"""How good are a trained run's pseudo-labels, and how well does its filter
find the wrong ones? (ELN's Table 4 analysis, for any filter.)

  python tools/pseudo_label_report.py CONFIG CHECKPOINT \
      [--seg-map-path ann_dir/train] [--num 500] [--seed 0] [--json OUT]

Builds the model of CONFIG with CHECKPOINT's weights, draws ``--num``
unlabelled training images whose masks are in ``--seg-map-path`` (relative
to the unlabelled dataset's data_root; the synthetic sets have them, a user
can hold back labelled images), makes pseudo-labels as training would (the
pseudo-label source and the filter in eval mode) and prints the
pseudo-label accuracy, the filter's precision / recall / F1 at finding the
wrong pixels (a rejected pixel is a positive), and the same for the best
single confidence threshold on the same pixels and, for a filter with its
own score (ELN's probability, 1 - GCT's flaw map), the best single
threshold on that score: whether the filter ranks the pixels worse than
the confidence does, or only cuts them at a worse place. The figures are
those of ``PseudoLabelHealthHook``'s probe (``score_figures=True``), on a
larger sample.
"""
import argparse
import json
import os.path as osp
import sys


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--seg-map-path', default='ann_dir/train',
                   help="mask folder of the unlabelled images, relative to "
                   "the unlabelled dataset's data_root")
    p.add_argument('--num', type=int, default=500)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--json', default=None, help='also write the figures here')
    return p.parse_args(argv)


def report(config: str, checkpoint: str, seg_map_path: str, num: int,
           seed: int = 0) -> dict:
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint

    import semiseg_mm  # noqa: F401
    from semiseg_mm.engine.hooks import PseudoLabelHealthHook
    from semiseg_mm.registry import DATASETS, MODELS
    init_default_scope('semiseg_mm')
    cfg = Config.fromfile(config)
    if not osp.isfile(checkpoint):
        sys.exit(f'checkpoint {checkpoint!r} does not exist')
    model = MODELS.build(cfg.model)
    load_checkpoint(model, checkpoint, map_location='cpu', logger='silent')
    model.eval()
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    with torch.no_grad():
        hook = PseudoLabelHealthHook.offline(
            model, dataset, dict(seg_map_path=seg_map_path, num=num,
                                 seed=seed), score_figures=True)
        fig = hook.figures(model)
    fig['num_images'] = sum(len(x) for x, _ in hook._probe)
    return fig


def main(argv=None) -> int:
    args = parse_args(argv)
    fig = report(args.config, args.checkpoint, args.seg_map_path, args.num,
                 args.seed)
    print(f"{fig['num_images']} unlabelled images; pseudo-label accuracy "
          f"{fig['pl_acc']:.1%} ({fig['pl_acc_accepted']:.1%} on the "
          'accepted pixels)')
    print('finding the wrong pixels   precision  recall  F1')
    print(f"  the filter               {fig['wrong_precision']:9.3f}  "
          f"{fig['wrong_recall']:6.3f}  {fig['wrong_f1']:.3f}")
    if 'conf_best_f1' in fig:
        print(f"  confidence <= {fig['conf_best_threshold']:.3f}     "
              f"{fig['conf_best_precision']:9.3f}  "
              f"{fig['conf_best_recall']:6.3f}  {fig['conf_best_f1']:.3f}")
    if 'score_best_f1' in fig:
        print(f"  its score <= {fig['score_best_threshold']:.3f}     "
              f"{fig['score_best_precision']:9.3f}  "
              f"{fig['score_best_recall']:6.3f}  {fig['score_best_f1']:.3f}")
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(fig, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
