"""Train a segmentor (MMSeg 1.x command line).

  python tools/train.py CONFIG [--work-dir DIR] [--resume] [--amp]
                        [--cfg-options k=v ...] [--launcher pytorch]
  tools/dist_train.sh CONFIG NGPUS [args]   (torchrun; also CPU + gloo)
"""
import argparse
import os

# The heavy stack (torch, MMEngine, semiseg_mm) is imported in main(), after
# the arguments are parsed, so a usage error answers at once.


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        action='store_true',
        default=False,
        help='resume from the latest checkpoint in the work_dir')
    parser.add_argument(
        '--amp',
        action='store_true',
        default=False,
        help='enable automatic-mixed-precision training (GPU)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        metavar='KEY=VALUE',
        help='override settings in the config, key=value (e.g. '
        'train_cfg.max_iters=100 model.decode_head.num_classes=6)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    bad = [o for o in args.cfg_options or [] if '=' not in o]
    if bad:
        parser.error(f'--cfg-options takes KEY=VALUE pairs, got {bad}')
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main(argv=None):
    args = parse_args(argv)
    from mmengine.config import Config

    # Importing semiseg_mm before the config is parsed registers the
    # `semiseg_mm::` config prefix and the torch>=2.6 checkpoint fix.
    import semiseg_mm  # noqa: F401
    from semiseg_mm.utils.launch import (apply_common_args, build_runner,
                                         enable_amp, finish_distributed,
                                         parse_cfg_options)
    cfg = Config.fromfile(args.config)
    apply_common_args(cfg, args.config, args.work_dir, args.launcher,
                      parse_cfg_options(args.cfg_options))
    if args.amp:
        enable_amp(cfg)
    cfg.resume = args.resume
    runner = build_runner(cfg)
    runner.train()
    del runner  # its DDP wrapper holds the process group
    finish_distributed()


if __name__ == '__main__':
    main()
