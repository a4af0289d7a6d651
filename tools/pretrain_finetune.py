"""Pretrain, then fine-tune: the two stages of label-based pixel contrastive
pretraining in one command.

  python tools/pretrain_finetune.py PRETRAIN_CONFIG FINETUNE_CONFIG \
      [--work-dir work_dirs/NAME] [--resume] \
      [--pretrain-options k=v ...] [--finetune-options k=v ...] \
      [--checkpoint-key model.backbone.init_cfg.checkpoint]

Stage 1 trains PRETRAIN_CONFIG in WORK_DIR/pretrain; its final checkpoint
becomes ``--checkpoint-key`` of FINETUNE_CONFIG (by default its backbone's
``Pretrained`` init, which loads the ``backbone.`` weights and leaves the
projection head behind), trained in WORK_DIR/finetune. A finished stage 1
(its final checkpoint exists) is not trained again; ``--resume`` continues
an interrupted stage. Each stage is ``tools/train.py`` in its own process.
"""
import argparse
import os
import os.path as osp
import subprocess
import sys

HERE = osp.dirname(osp.abspath(__file__))
DEFAULT_KEY = 'model.backbone.init_cfg.checkpoint'


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('pretrain_config')
    p.add_argument('finetune_config')
    p.add_argument('--work-dir', default=None,
                   help='default: work_dirs/<finetune config name>')
    p.add_argument('--resume', action='store_true',
                   help='resume an interrupted stage from its latest '
                   'checkpoint')
    p.add_argument('--pretrain-options', nargs='+', default=[],
                   metavar='KEY=VALUE')
    p.add_argument('--finetune-options', nargs='+', default=[],
                   metavar='KEY=VALUE')
    p.add_argument('--checkpoint-key', default=DEFAULT_KEY,
                   help='the fine-tuning config key that gets the stage-1 '
                   'checkpoint')
    args = p.parse_args(argv)
    bad = [o for o in args.pretrain_options + args.finetune_options
           if '=' not in o]
    if bad:
        p.error(f'--*-options take KEY=VALUE pairs, got {bad}')
    for path in (args.pretrain_config, args.finetune_config):
        if not osp.isfile(path):
            p.error(f'config {path!r} does not exist')
    return args


def final_checkpoint(cfg, work_dir: str) -> str:
    """Where stage 1 writes its final checkpoint."""
    return osp.join(work_dir, f'iter_{int(cfg.train_cfg.max_iters)}.pth')


def check_key(cfg, key: str, config: str) -> None:
    node = cfg.to_dict()
    for part in key.split('.'):
        if not isinstance(node, dict) or part not in node:
            raise SystemExit(
                f'{config}: has no {key!r} to put the stage-1 checkpoint in '
                "(a fine-tuning config sets model.backbone.init_cfg=dict("
                "type='Pretrained', checkpoint=..., prefix='backbone.'); "
                'or pass --checkpoint-key)')
        node = node[part]


def check_backbone_weights(path: str, prefix: str = 'backbone.') -> None:
    import torch
    ckpt = torch.load(path, map_location='cpu', mmap=True, weights_only=True)
    state = ckpt.get('state_dict', ckpt)
    if not any(k.startswith(prefix) for k in state):
        raise SystemExit(f'{path}: no {prefix}* weights in the stage-1 '
                         'checkpoint (is it a PixelContrastPretrain run?)')


def train(config: str, work_dir: str, options, resume: bool) -> None:
    cmd = [sys.executable, osp.join(HERE, 'train.py'), config,
           '--work-dir', work_dir]
    if resume:
        cmd.append('--resume')
    if options:
        cmd += ['--cfg-options', *options]
    print('+ ' + ' '.join(cmd), flush=True)
    rc = subprocess.call(cmd)
    if rc:
        raise SystemExit(f'{config} failed (exit {rc}); logs in {work_dir}')


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmengine.config import Config

    import semiseg_mm  # noqa: F401
    from semiseg_mm.utils.launch import parse_cfg_options
    work = args.work_dir or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.finetune_config))[0])
    pre_dir, fine_dir = osp.join(work, 'pretrain'), osp.join(work, 'finetune')
    pre_cfg = Config.fromfile(args.pretrain_config)
    if args.pretrain_options:
        pre_cfg.merge_from_dict(parse_cfg_options(args.pretrain_options))
    check_key(Config.fromfile(args.finetune_config), args.checkpoint_key,
              args.finetune_config)
    ckpt = final_checkpoint(pre_cfg, pre_dir)
    if osp.isfile(ckpt):
        print(f'stage 1 done: {ckpt}')
    else:
        train(args.pretrain_config, pre_dir, args.pretrain_options,
              args.resume and osp.isdir(pre_dir))
        if not osp.isfile(ckpt):
            raise SystemExit(f'stage 1 ended without its final checkpoint '
                             f'{ckpt}')
    check_backbone_weights(ckpt)
    train(args.finetune_config, fine_dir,
          [f'{args.checkpoint_key}={osp.abspath(ckpt)}'] +
          args.finetune_options, args.resume and osp.isdir(fine_dir))
    print(f'stage 2 done: {fine_dir}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
