"""Compare our domain-adaptation pieces with the official implementations.

  python tools/misc/check_uda_against_official.py \
      --advent PATH/TO/ADVENT --adaptsegnet PATH/TO/AdaptSegNet

PATH/TO/ADVENT is a checkout of https://github.com/valeoai/ADVENT (the
folder holding ``advent/``), PATH/TO/AdaptSegNet one of
https://github.com/wasidennis/AdaptSegNet (holding ``model/``). Nothing of
theirs is copied here: their modules are imported from those folders and
run on the same seeded inputs as ours:

* entropy map: ADVENT ``prob_2_entropy`` vs ``entropy_map``;
* MinEnt: ADVENT ``entropy_loss`` vs ``minent_loss``;
* discriminator: ADVENT ``get_fc_discriminator`` and AdaptSegNet
  ``FCDiscriminator`` (their weights copied into ours, layer by layer) vs
  ``FCDiscriminator``; parameter counts;
* adversarial losses: ADVENT ``bce_loss`` (vanilla GAN) and AdaptSegNet's
  ``--gan LS`` criterion (``torch.nn.MSELoss`` against the filled label
  map) vs ``AdversarialLoss``, for both domain labels.

Prints the maximum absolute difference of each and exits non-zero if one
exceeds ``--tol`` (1e-6).
"""
import argparse
import os.path as osp
import sys

# torch and semiseg_mm are imported once the arguments are parsed

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--advent', required=True)
    p.add_argument('--adaptsegnet', required=True)
    p.add_argument('--tol', type=float, default=1e-6)
    p.add_argument('--seed', type=int, default=0)
    return p.parse_args(argv)


def _import_official(advent_root: str, adaptsegnet_root: str):
    for root, probe in ((advent_root, 'advent/utils/func.py'),
                        (adaptsegnet_root, 'model/discriminator.py')):
        if not osp.isfile(osp.join(root, probe)):
            raise SystemExit(f'{root} has no {probe}: not a checkout of the '
                             'official repository')
    sys.path.insert(0, advent_root)
    from advent.model.discriminator import get_fc_discriminator
    from advent.utils.func import bce_loss, prob_2_entropy
    from advent.utils.loss import entropy_loss
    sys.path.insert(0, adaptsegnet_root)
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'adaptsegnet_discriminator',
        osp.join(adaptsegnet_root, 'model/discriminator.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return dict(get_fc_discriminator=get_fc_discriminator,
                bce_loss=bce_loss, prob_2_entropy=prob_2_entropy,
                entropy_loss=entropy_loss,
                AdaptSegNetD=mod.FCDiscriminator)


def _copy_convs(src, dst) -> None:
    """Copy the five convs of an official discriminator into ours, in
    order."""
    import torch
    convs_src = [m for m in src.modules() if isinstance(m, torch.nn.Conv2d)]
    convs_dst = [m for m in dst.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs_src) == len(convs_dst) == 5
    with torch.no_grad():
        for a, b in zip(convs_src, convs_dst):
            b.weight.copy_(a.weight)
            b.bias.copy_(a.bias)


def _cpu_bce(bce_loss, d_out, label):
    # ADVENT's bce_loss moves its target to y_pred.get_device() (a CUDA
    # index); on a CPU tensor that is -1, so point it at the CPU
    d_out = d_out.clone()
    d_out.get_device = lambda: 'cpu'
    return bce_loss(d_out, label)


def main(argv=None):
    args = parse_args(argv)
    import torch
    off = _import_official(args.advent, args.adaptsegnet)
    from semiseg_mm.models.discriminators import FCDiscriminator
    from semiseg_mm.models.losses.uda import (AdversarialLoss, entropy_map,
                                              minent_loss)
    g = torch.Generator().manual_seed(args.seed)
    rows = []

    for c in (19, 16, 6):
        # sharp and flat predictions, exact zeros included
        logits = torch.randn(2, c, 33, 65, generator=g) * 4
        probs = logits.softmax(1)
        probs[0, :, 0, 0] = 0
        probs[0, 0, 0, 0] = 1
        rows.append((f'entropy map (C={c})',
                     (off['prob_2_entropy'](probs) -
                      entropy_map(probs)).abs().max().item()))
        rows.append((f'MinEnt loss (C={c})',
                     abs(off['entropy_loss'](probs).item() -
                         minent_loss(probs).item())))

        ours = FCDiscriminator(c)
        for name, theirs in (('ADVENT', off['get_fc_discriminator'](c)),
                             ('AdaptSegNet', off['AdaptSegNetD'](c))):
            _copy_convs(theirs, ours)
            n_theirs = sum(p.numel() for p in theirs.parameters())
            n_ours = sum(p.numel() for p in ours.parameters())
            if n_theirs != n_ours or n_ours != 2_761_665 + 1_024 * c:
                raise SystemExit(f'{name} discriminator: {n_theirs} '
                                 f'parameters, ours {n_ours}')
            x = torch.rand(2, c, 64, 96, generator=g)
            with torch.no_grad():
                diff = (theirs(x) - ours(x)).abs().max().item()
            rows.append((f'FCDiscriminator vs {name} (C={c}, '
                         f'{n_ours:,} parameters)', diff))

    d_out = torch.randn(2, 1, 16, 32, generator=g) * 3
    vanilla, ls = AdversarialLoss('vanilla'), AdversarialLoss('lsgan')
    for label in (0, 1):
        rows.append((f'vanilla GAN loss vs ADVENT bce_loss (label {label})',
                     abs(_cpu_bce(off['bce_loss'], d_out, label).item() -
                         vanilla(d_out, label).item())))
        target = torch.FloatTensor(d_out.size()).fill_(label)
        rows.append((f'LS-GAN loss vs AdaptSegNet MSELoss (label {label})',
                     abs(torch.nn.MSELoss()(d_out, target).item() -
                         ls(d_out, label).item())))

    width = max(len(r[0]) for r in rows)
    worst = 0.0
    for name, diff in rows:
        print(f'{name:<{width}}  max |diff| = {diff:.2e}')
        worst = max(worst, diff)
    print(f'largest difference {worst:.2e} (tolerance {args.tol:g})')
    return 0 if worst <= args.tol else 1


if __name__ == '__main__':
    sys.exit(main())
