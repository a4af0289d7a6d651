"""Time and memory of the pixel contrastive loss, forward + backward
(semiseg_mm/benchmark/contrast.py): each (variant, feature size) in its own
process.

  python tools/benchmark_contrast.py [--variants cross_image within_image
      batch] [--images 8] [--channels 256] [--sides 64 128]
      [--max-pixels 10000] [--iters 5] [--threads 2]
"""
import argparse
import sys


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--variants', nargs='+',
                   default=['cross_image', 'within_image', 'batch'])
    p.add_argument('--images', type=int, default=8)
    p.add_argument('--channels', type=int, default=256)
    p.add_argument('--sides', type=int, nargs='+', default=[64, 128],
                   help='feature map sides (both views)')
    p.add_argument('--max-pixels', type=int, default=10000)
    p.add_argument('--iters', type=int, default=5)
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--threads', type=int, default=2)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    from semiseg_mm.benchmark.contrast import markdown, measure
    from semiseg_mm.models.losses import BAGS
    unknown = [v for v in args.variants if v not in BAGS]
    if unknown:
        sys.exit(f'unknown variant(s) {unknown}; known: {sorted(BAGS)}')
    rows = [
        measure(v, args.images, args.channels, side, args.max_pixels,
                args.iters, args.warmup, args.threads)
        for v in args.variants for side in args.sides
    ]
    print(f'cpu, {args.threads} thread(s), median of {args.iters} after '
          f'{args.warmup} warm-up; torch {torch.__version__}; '
          f'`python tools/benchmark_contrast.py {" ".join(argv or sys.argv[1:])}`'
          '\n')
    print(markdown(rows))
    return 0


if __name__ == '__main__':
    sys.exit(main())
