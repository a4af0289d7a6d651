"""Test (and evaluate) a checkpoint (MMSeg 1.x command line).

  python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out DIR]
                       [--show-dir DIR] [--cfg-options k=v ...]
  python tools/test.py ENSEMBLE_CONFIG [...]   (EnsembleSegmentor: each
                       member loads its own checkpoint)
  tools/dist_test.sh CONFIG CHECKPOINT NGPUS [args]
"""
import argparse
import os

# The heavy stack is imported in main(), after the arguments are parsed.


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='semiseg_mm test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument(
        'checkpoint',
        nargs='?',
        help='checkpoint file (omit for an EnsembleSegmentor config, whose '
        'members name their own)')
    parser.add_argument(
        '--work-dir',
        help='the dir to save logs and the evaluation results (json)')
    parser.add_argument(
        '--out',
        type=str,
        help='directory to save output predictions for offline evaluation')
    parser.add_argument(
        '--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir',
        help='directory where painted images are saved (under '
        'work_dir/timestamp/)')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        metavar='KEY=VALUE',
        help='override settings in the config, key=value')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument(
        '--tta', action='store_true', help='test time augmentation')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    bad = [o for o in args.cfg_options or [] if '=' not in o]
    if bad:
        parser.error(f'--cfg-options takes KEY=VALUE pairs, got {bad}')
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def trigger_visualization_hook(cfg, args):
    hooks = cfg.default_hooks
    if 'visualization' not in hooks:
        raise RuntimeError(
            '--show/--show-dir need a VisualizationHook in default_hooks: '
            "visualization=dict(type='SegVisualizationHook')")
    hooks['visualization']['draw'] = True
    if args.show:
        hooks['visualization']['show'] = True
        hooks['visualization']['wait_time'] = args.wait_time
    if args.show_dir:
        cfg.visualizer['save_dir'] = args.show_dir
    return cfg


def main(argv=None):
    args = parse_args(argv)
    from mmengine.config import Config

    import semiseg_mm  # noqa: F401  (config prefix, checkpoint compatibility)
    from semiseg_mm.utils.launch import (apply_common_args, build_runner,
                                         finish_distributed,
                                         parse_cfg_options)
    cfg = Config.fromfile(args.config)
    apply_common_args(cfg, args.config, args.work_dir, args.launcher,
                      parse_cfg_options(args.cfg_options))
    ensemble = cfg.model.get('type') == 'EnsembleSegmentor'
    if args.checkpoint is None and not ensemble:
        raise SystemExit(
            f'tools/test.py: {args.config} needs a CHECKPOINT argument (only '
            'EnsembleSegmentor configs load their members\' own)')
    if args.checkpoint is not None and ensemble:
        raise SystemExit(
            'tools/test.py: an EnsembleSegmentor loads each member from its '
            'members[i].checkpoint; drop the CHECKPOINT argument (or set '
            'model.members.<i>.checkpoint with --cfg-options)')
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        trigger_visualization_hook(cfg, args)
    if args.tta:
        if 'tta_pipeline' not in cfg or 'tta_model' not in cfg:
            raise SystemExit('--tta: the config defines no tta_pipeline / '
                             'tta_model')
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model
    if args.out is not None:
        cfg.test_evaluator['output_dir'] = args.out
        cfg.test_evaluator['keep_results'] = True
    runner = build_runner(cfg)
    runner.test()
    del runner  # its DDP wrapper holds the process group
    finish_distributed()


if __name__ == '__main__':
    main()
