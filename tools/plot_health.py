"""Plot the pseudo-label health figures of a (finished or running) run.

  python tools/plot_health.py WORK_DIR [--out health.png]

Reads the ``health/...`` scalars that ``PseudoLabelHealthHook`` logged into
the newest ``<timestamp>/vis_data/scalars.json`` below WORK_DIR and draws,
over iterations: the accepted share of unlabelled pixels with the probe's
pseudo-label accuracy and the filter's F1 at finding wrong pixels; each
pseudo-class's share of the accepted pixels (solid) against its share of
the labelled pixels (dashed); and a filter's per-class thresholds, if any.
"""
import argparse
import json
import os
import os.path as osp
import sys


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('work_dir', help='the run\'s work dir (or a timestamp '
                   'folder below it)')
    p.add_argument('--out', default=None,
                   help='picture path (default: WORK_DIR/health.png)')
    return p.parse_args(argv)


def read_health(work_dir: str):
    """``(steps, {name: [values]})`` of the newest scalars.json's
    ``health/`` records; names without the prefix."""
    logs = [
        osp.join(root, 'scalars.json') for root, _, files in os.walk(work_dir)
        if 'scalars.json' in files
    ]
    if not logs:
        raise SystemExit(f'plot_health: no scalars.json below {work_dir!r}')
    series, steps = {}, []
    with open(max(logs, key=osp.getmtime)) as f:
        for line in f:
            record = json.loads(line)
            health = {k[len('health/'):]: v for k, v in record.items()
                      if k.startswith('health/')}
            if not health:
                continue
            steps.append(record['step'])
            for k, v in health.items():
                series.setdefault(k, []).append((record['step'], v))
    if not steps:
        raise SystemExit(f'plot_health: no health/ figures in {logs}: was '
                         'PseudoLabelHealthHook in the config?')
    return steps, series


def main(argv=None) -> None:
    args = parse_args(argv)
    steps, series = read_health(args.work_dir)
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    thresholds = sorted(k for k in series if k.startswith('threshold/'))
    panels = 3 if thresholds else 2
    fig, axes = plt.subplots(1, panels, figsize=(5 * panels, 3.6))

    def draw(ax, key, **kw):
        if key in series:
            xs, ys = zip(*series[key])
            ax.plot(xs, ys, **kw)

    draw(axes[0], 'accept_share', label='accepted share', color='k')
    draw(axes[0], 'pl_acc', label='probe pseudo-label accuracy')
    draw(axes[0], 'pl_acc_accepted', label='... on accepted pixels')
    draw(axes[0], 'wrong_f1', label='filter F1 at finding wrong pixels')
    axes[0].set_ylim(0, 1.02)
    axes[0].set_title('pseudo-labels', fontsize=10)
    classes = sorted(k.split('/', 1)[1] for k in series
                     if k.startswith('class_share/'))
    for i, name in enumerate(classes):
        colour = f'C{i % 10}'
        draw(axes[1], f'class_share/{name}', label=name, color=colour)
        draw(axes[1], f'labelled_freq/{name}', color=colour, ls='--')
    axes[1].set_title('accepted share per pseudo-class (dashed: labelled)',
                      fontsize=10)
    for i, key in enumerate(thresholds):
        draw(axes[2], key, label=key.split('/', 1)[1], color=f'C{i % 10}')
    if thresholds:
        axes[2].set_title('filter thresholds', fontsize=10)
    for ax in axes:
        ax.set_xlabel('iteration')
        ax.legend(fontsize=7)
    fig.tight_layout()
    out = args.out or osp.join(args.work_dir, 'health.png')
    fig.savefig(out, dpi=110)
    last = {k: v[-1][1] for k, v in series.items()}
    print(f'wrote {out}: {len(steps)} reports up to iteration {steps[-1]}; '
          f'last pl_acc {last.get("pl_acc", float("nan")):.3f} accept_share '
          f'{last.get("accept_share", float("nan")):.3f}')


if __name__ == '__main__':
    sys.exit(main())
