"""Write a trained segmentor's predictions as weak masks, for the
dual-branch method's weak head (configs/dual_branch/
dilatedconvnet-disk_synthetic_1-16.py).

  python tools/make_weak_masks.py CONFIG CHECKPOINT --out DATA/weak_dir/train \
      --ids DATA/splits/1-16_seed0/unlabeled.txt [--img-dir DATA/img_dir/train]
      [--img-suffix .png] [--batch-size 16]

Reads each image ``<img-dir>/<id><img-suffix>`` named in ``--ids``, runs
CONFIG's model (CHECKPOINT's weights; the test pipeline of CONFIG's val
loader) and writes ``<out>/<id>.png`` holding the predicted class ids.
"""
import argparse
import os
import os.path as osp
import sys


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--out', required=True)
    p.add_argument('--ids', required=True,
                   help='a split file: one image id per line')
    p.add_argument('--img-dir', default=None,
                   help="default: <the ids file's data root>/img_dir/train")
    p.add_argument('--img-suffix', default='.png')
    p.add_argument('--batch-size', type=int, default=16)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if not osp.isfile(args.ids):
        sys.exit(f'--ids {args.ids!r} does not exist')
    if not osp.isfile(args.checkpoint):
        sys.exit(f'checkpoint {args.checkpoint!r} does not exist')
    with open(args.ids) as f:
        ids = [line.strip() for line in f if line.strip()]
    img_dir = args.img_dir or osp.join(
        osp.dirname(osp.dirname(osp.dirname(osp.abspath(args.ids)))),
        'img_dir', 'train')
    missing = [i for i in ids
               if not osp.isfile(osp.join(img_dir, i + args.img_suffix))]
    if missing:
        sys.exit(f'{len(missing)} id(s) of {args.ids} have no image in '
                 f'{img_dir}, e.g. {missing[0]}{args.img_suffix}')
    import cv2
    import numpy as np
    import torch
    from mmengine.config import Config
    from mmengine.dataset import Compose, pseudo_collate
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint

    import semiseg_mm  # noqa: F401
    from semiseg_mm.registry import MODELS
    init_default_scope('semiseg_mm')
    cfg = Config.fromfile(args.config)
    model = MODELS.build(cfg.model)
    load_checkpoint(model, args.checkpoint, map_location='cpu',
                    logger='silent')
    model.eval()
    pipeline = Compose([t for t in cfg.val_dataloader.dataset.pipeline
                        if t['type'] != 'LoadAnnotations'])
    os.makedirs(args.out, exist_ok=True)
    for start in range(0, len(ids), args.batch_size):
        chunk = ids[start:start + args.batch_size]
        batch = pseudo_collate([
            pipeline(dict(img_path=osp.join(img_dir, i + args.img_suffix),
                          seg_fields=[], reduce_zero_label=False))
            for i in chunk
        ])
        with torch.no_grad():
            out = model.test_step(batch)
        for i, sample in zip(chunk, out):
            pred = sample.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)
            cv2.imwrite(osp.join(args.out, i + '.png'), pred)
    print(f'wrote {len(ids)} weak mask(s) to {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
