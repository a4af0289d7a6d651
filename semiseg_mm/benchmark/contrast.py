"""Time and peak memory of the pixel contrastive loss
(:class:`~semiseg_mm.models.losses.PixelContrastiveLoss`), forward +
backward, on random features and masks.

Each measurement runs in its own process (``ru_maxrss`` is a per-process
high-water mark): the growth of the peak resident set over the state after
the features are made. It includes the gradient buffers of the feature maps
(as large as them: any loss that trains a feature map allocates them), so a
reference process that only draws the pixels and sums them is measured too:
the difference is the loss's own memory.
"""
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from typing import List, Sequence


@dataclass
class LossMeasure:
    variant: str
    images: int
    channels: int
    side: int  # feature map height = width
    max_pixels: int
    seconds: float  # median forward + backward
    peak_mib: float  # peak RSS growth during the timed calls
    grad_mib: float  # the features' gradient buffer (both views)
    threads: int
    ref_peak_mib: float = 0.0  # the sample-only reference's peak


def _rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure_here(variant: str, images: int, channels: int, side: int,
                 max_pixels: int, iters: int = 5, warmup: int = 1,
                 threads: int = 1) -> LossMeasure:
    """Measure in this process (call it in a fresh one for the memory).
    ``variant='sample_only'``: only the pixel draw and a sum over the drawn
    features (the reference: every loss on a feature map pays its
    gradient buffers)."""
    import torch

    from semiseg_mm.models.losses import PixelContrastiveLoss
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    shape = (images, channels, side, side)
    feats = torch.randn(shape, generator=g).requires_grad_(True)
    feats_aug = torch.randn(shape, generator=g).requires_grad_(True)
    classes = 6
    labels = torch.randint(0, classes, (images, side, side), generator=g)
    labels[:, :side // 8] = 255  # some ignored pixels
    labels_aug = labels.flip(-1)
    if variant == 'sample_only':
        from semiseg_mm.models.losses import sample_pixels
        per = max(1, max_pixels // (2 * images))

        def loss_fn(fa, la, fb, lb, generator):
            return (sample_pixels(fa, la, per, generator=generator)[0].sum()
                    + sample_pixels(fb, lb, per,
                                    generator=generator)[0].sum())
    else:
        loss_fn = PixelContrastiveLoss(variant, max_pixels=max_pixels)
    base = _rss_bytes()
    times: List[float] = []
    for i in range(warmup + iters):
        feats.grad = feats_aug.grad = None
        t0 = time.perf_counter()
        loss = loss_fn(feats, labels, feats_aug, labels_aug,
                       generator=torch.Generator().manual_seed(i))
        loss.backward()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    peak = _rss_bytes() - base
    grad = 2 * feats.numel() * feats.element_size()
    return LossMeasure(variant, images, channels, side, max_pixels,
                       statistics.median(times), max(peak, 0) / 2**20,
                       grad / 2**20, threads)


def measure(variant: str, images: int, channels: int, side: int,
            max_pixels: int, iters: int = 5, warmup: int = 1,
            threads: int = 1) -> LossMeasure:
    """:func:`measure_here` in a fresh process, and the sample-only
    reference (its ``peak_mib``) in another: the loss's own memory is the
    difference."""
    code = ('import json, sys; from dataclasses import asdict; '
            'from semiseg_mm.benchmark.contrast import measure_here; '
            'print(json.dumps(asdict(measure_here(*json.loads(sys.argv[1]))'
            ')))')
    env = dict(os.environ, OMP_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))

    def run(v):
        a = json.dumps([v, images, channels, side, max_pixels, iters,
                        warmup, threads])
        out = subprocess.run([sys.executable, '-c', code, a], env=env,
                             capture_output=True, text=True)
        if out.returncode:
            raise RuntimeError('loss measurement failed:\n'
                               f'{out.stderr[-2000:]}')
        return LossMeasure(**json.loads(out.stdout.strip().splitlines()[-1]))

    result = run(variant)
    result.ref_peak_mib = run('sample_only').peak_mib
    return result


def markdown(rows: Sequence[LossMeasure]) -> str:
    lines = ['| variant | features | pixel budget | s fwd + bwd | peak MiB | '
             'sample-only reference MiB | loss own MiB |',
             '|---|---|---|---|---|---|---|']
    for r in rows:
        lines.append(
            f'| {r.variant} | {r.images} x {r.channels} x {r.side} x '
            f'{r.side} (2 views) | {r.max_pixels} | {r.seconds:.3f} | '
            f'{r.peak_mib:.0f} | {r.ref_peak_mib:.0f} | '
            f'{max(r.peak_mib - r.ref_peak_mib, 0):.0f} |')
    return '\n'.join(lines)


__all__ = ['LossMeasure', 'measure', 'measure_here', 'markdown', 'asdict']
