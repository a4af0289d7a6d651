"""Render what a semi-supervised checkpoint does on unlabelled training
images: the input, the teacher's pseudo-labels and confidence, the accepted
pixels and the student's prediction (and, for GCT, the flaw maps), side by
side, exactly as the training-time SemiVisualizationHook draws them.

  python tools/visualize_semi.py CONFIG CHECKPOINT --out vis/ \
      [--batches 2] [--max-images 4] [--iter N] [--cfg-options k=v ...]
  # domain adaptation: target entropy and predictions before and after
  python tools/visualize_semi.py configs/advent/...advent.py ADVENT.pth \
      --before SOURCE_ONLY.pth --out vis/

  # unlabelled training images whose masks are known: the pseudo-labels the
  # filter accepted, and which rejected pixels were really wrong
  python tools/visualize_semi.py configs/eln/...py ELN.pth --out vis/ \
      --probe ann_dir/train [--max-images 4]

The method runs its own loss() on batches of the training dataloader (same
pipelines, same code path); ``--iter`` sets the iteration that ramp-ups and
warm-ups see (default: the checkpoint's). ``--probe`` draws instead, as
``PseudoLabelHealthHook(vis_interval=...)`` does during training, unlabelled
training images with their masks (folder relative to the unlabelled
dataset's data_root), the teacher's pseudo-labels and confidence, the
filter's own score (ELN's), the accepted pseudo-labels and each pixel's
verdict: accepted right / accepted wrong / rejected wrong (caught) /
rejected right (lost).
"""
import argparse
import os
import os.path as osp

# The heavy stack is imported in main(), after the arguments are parsed.


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--out', required=True, help='output folder')
    p.add_argument('--batches', type=int, default=1)
    p.add_argument('--max-images', type=int, default=4)
    p.add_argument('--iter', type=int, default=None,
                   help='training iteration for ramp-ups (default: the '
                   "checkpoint's)")
    p.add_argument('--cfg-options', nargs='+', metavar='KEY=VALUE')
    p.add_argument('--before', default=None,
                   help='domain adaptation: a checkpoint of the model before '
                   'adaptation (e.g. source-only, a plain mmseg segmentor); '
                   'its target predictions and entropy are drawn next to '
                   "the adapted model's")
    p.add_argument('--probe', default=None, metavar='SEG_MAP_PATH',
                   help='draw unlabelled training images whose masks are in '
                   "this folder (relative to the unlabelled dataset's "
                   'data_root) with the verdict of the filter against them')
    p.add_argument('--probe-seed', type=int, default=0,
                   help='which probe images (--max-images of them)')
    args = p.parse_args(argv)
    if args.probe and args.before:
        p.error('--probe and --before draw different pictures: pass one')
    bad = [o for o in args.cfg_options or [] if '=' not in o]
    if bad:
        p.error(f'--cfg-options takes KEY=VALUE pairs, got {bad}')
    return args


def main(argv=None):
    args = parse_args(argv)
    import cv2
    import torch
    from mmengine.config import Config
    from mmengine.logging import MessageHub
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner, load_checkpoint

    import semiseg_mm  # noqa: F401
    from semiseg_mm.registry import MODELS
    from semiseg_mm.utils.launch import parse_cfg_options
    from semiseg_mm.visualization import preprocessor_mean_std, render_panels
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(parse_cfg_options(args.cfg_options))
    init_default_scope(cfg.get('default_scope', 'semiseg_mm'))
    model = MODELS.build(cfg.model)
    if not hasattr(model, 'record_vis'):
        raise SystemExit(f'{type(model).__name__} is not a semi-supervised '
                         'segmentor (no record_vis)')
    ckpt = load_checkpoint(model, args.checkpoint, map_location='cpu')
    before = None
    if args.before:
        import copy
        if 'target' not in getattr(model, 'train_branches', ()):
            raise SystemExit('--before compares target predictions: it needs '
                             f'a domain-adaptation config, not '
                             f'{type(model).__name__}')
        before = copy.deepcopy(model.predict_model())
        load_checkpoint(before, args.before, map_location='cpu',
                        revise_keys=[(r'^segmentor\.', '')])
        before.eval()
    it = args.iter if args.iter is not None else ckpt.get('meta', {}).get(
        'iter', 0)
    MessageHub.get_current_instance().update_info('iter', it)
    if args.probe:
        return probe_picture(model, cfg, args, it)
    model.train()
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.pop('persistent_workers', None)
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    palette = loader.dataset.metainfo['palette']
    mean, std = preprocessor_mean_std(model)
    os.makedirs(args.out, exist_ok=True)
    written = 0
    for b, batch in enumerate(loader):
        if b >= args.batches:
            break
        data = model.data_preprocessor(batch, training=True)
        model.vis_request = True
        with torch.no_grad():
            model.loss(data['inputs'], data['data_samples'])
        model.vis_request = False
        if not model.vis_data:
            raise SystemExit(
                f'at iteration {it} {type(model).__name__} skips the '
                'unlabelled images (supervised warm-up); pass a later --iter')
        vis = model.vis_data
        if before is not None:
            from semiseg_mm.models.losses.uda import entropy_map
            from semiseg_mm.models.utils import full_res_logits
            with torch.no_grad():
                probs = full_res_logits(before,
                                        data['inputs']['target']).softmax(1)
            vis = dict(image=vis['image'],
                       before_target_probs=probs,
                       before_target_entropy=entropy_map(probs).sum(1),
                       **{k: v for k, v in vis.items() if k != 'image'})
        grid = render_panels(vis, palette, mean, std, args.max_images)
        path = osp.join(args.out, f'semi_batch{b}.png')
        cv2.imwrite(path, cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
        written += 1
        print(f'wrote {path}')
    print(f'{written} picture(s) at iteration {it}')


def probe_picture(model, cfg, args, it: int) -> None:
    """The health hook's probe picture for this checkpoint."""
    import cv2
    import torch

    from semiseg_mm.engine.hooks import PseudoLabelHealthHook
    from semiseg_mm.registry import DATASETS
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    model.eval()
    with torch.no_grad():
        hook = PseudoLabelHealthHook.offline(
            model, dataset,
            dict(seg_map_path=args.probe, num=args.max_images,
                 seed=args.probe_seed),
            vis_images=args.max_images)
        grid = hook.probe_picture(model, dataset.metainfo['palette'])
    os.makedirs(args.out, exist_ok=True)
    path = osp.join(args.out, 'probe.png')
    cv2.imwrite(path, cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
    print(f'wrote {path}: {args.max_images} probe image(s) at iteration {it}')


if __name__ == '__main__':
    main()
