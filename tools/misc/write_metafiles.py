"""Regenerate configs/<method>/metafile.yml (mmseg's model-index format)
from the configs themselves, keeping the Results recorded in the existing
metafile (only numbers produced by commands in this repository go there).

  python tools/misc/write_metafiles.py supervised mean_teacher fixmatch
"""
import argparse
import glob
import os.path as osp

import yaml

# MMEngine (and with it torch) is imported once the arguments are parsed
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

COLLECTIONS = {
    'supervised': ('Supervised', 'DeepLab: Semantic Image Segmentation with '
                   'Deep Convolutional Nets, Atrous Convolution, and Fully '
                   'Connected CRFs', 'https://arxiv.org/abs/1606.00915'),
    'mean_teacher': ('MeanTeacher', 'Mean teachers are better role models: '
                     'Weight-averaged consistency targets improve '
                     'semi-supervised deep learning results',
                     'https://arxiv.org/abs/1703.01780'),
    'fixmatch': ('FixMatch', 'Revisiting Weak-to-Strong Consistency in '
                 'Semi-Supervised Semantic Segmentation (UniMatch; FixMatch '
                 'baseline)', 'https://arxiv.org/abs/2208.09910'),
    'gct': ('GCT', 'Guided Collaborative Training for Pixel-wise '
            'Semi-supervised Learning', 'https://arxiv.org/abs/2008.05258'),
    'adaptsegnet': ('AdaptSegNet', 'Learning to Adapt Structured Output '
                    'Space for Semantic Segmentation',
                    'https://arxiv.org/abs/1802.10349'),
    'advent': ('ADVENT', 'ADVENT: Adversarial Entropy Minimization for '
               'Domain Adaptation in Semantic Segmentation',
               'https://arxiv.org/abs/1811.12833'),
    'dacs': ('DACS', 'DACS: Domain Adaptation via Cross-domain Mixed '
             'Sampling', 'https://arxiv.org/abs/2007.08702'),
    'eln': ('ELN', 'Semi-supervised Semantic Segmentation with Error '
            'Localization Network', 'https://arxiv.org/abs/2204.02078'),
    'pixel_contrast': ('PixelContrast', 'Contrastive Learning for '
                       'Label-Efficient Semantic Segmentation',
                       'https://arxiv.org/abs/2012.06985'),
    'dual_branch': ('DualBranch', 'Semi-supervised Semantic Segmentation '
                    'via Strong-weak Dual-branch Network',
                    'https://www.ecva.net/papers.php'),
}


def dataset_name(cfg) -> str:
    # a domain pair is named by its source dataset (a base's leftover
    # variables may still name another one in the text)
    loader = cfg.get('train_dataloader') or {}
    source = (loader.get('dataset') or {}).get('source') or {}
    if source.get('type') == 'GTA5Dataset':
        return 'GTA5 -> Cityscapes'
    if source.get('type') == 'SynthiaDataset':
        return 'SYNTHIA -> Cityscapes'
    text = cfg.pretty_text
    if 'SynthiaDataset' in text:
        return 'SYNTHIA -> Cityscapes'
    if 'GTA5Dataset' in text:
        return 'GTA5 -> Cityscapes'
    if 'synthetic_uda' in text:
        return 'Synthetic domain pair'
    if 'Cityscapes' in text:
        return 'Cityscapes'
    if 'PascalVOC' in text:
        return 'Pascal VOC 2012 + Aug'
    return 'Synthetic shapes'


def architecture(cfg) -> list:
    model = cfg.model
    if model.get('members'):  # an ensemble: its first member's network
        model = model.members[0].model
    seg = model.get('segmentor', model)
    parts = [seg.backbone.type]
    if 'depth' in seg.backbone:
        parts[0] += f"-{seg.backbone.depth}"
    # a pretraining stage has a projection head instead of a decode head
    head = seg.get('decode_head') or seg.get('projection_head')
    parts.append(head.type)
    return parts


def entry(method: str, path: str, old: dict) -> dict:
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    rel = osp.relpath(path, REPO)
    name = osp.splitext(osp.basename(path))[0]
    loader = cfg.train_dataloader
    meta = {'Training Data': dataset_name(cfg)}
    if loader is not None:  # ensembles only evaluate
        meta['Batch Size'] = loader.batch_size
        meta['Iterations'] = cfg.train_cfg.max_iters
    meta['Architecture'] = architecture(cfg)
    out = {
        'Name': f'{method}_{name}',
        'In Collection': COLLECTIONS[method][0],
        'Config': rel,
        'Metadata': meta,
    }
    if old.get('Results'):
        out['Results'] = old['Results']
    return out


def write(method: str) -> None:
    folder = osp.join(REPO, 'configs', method)
    path = osp.join(folder, 'metafile.yml')
    old = {}
    if osp.isfile(path):
        with open(path) as f:
            for m in (yaml.safe_load(f) or {}).get('Models', []) or []:
                old[m['Config']] = m
    coll, title, url = COLLECTIONS[method]
    data = {
        'Collections': [{
            'Name': coll,
            'License': 'Apache License 2.0',
            'Paper': {
                'Title': title,
                'URL': url
            },
            'README': f'configs/{method}/README.md',
            'Frameworks': ['PyTorch'],
        }],
        'Models': [
            entry(method, p, old.get(osp.relpath(p, REPO), {}))
            for p in sorted(glob.glob(osp.join(folder, '*.py')))
        ],
    }
    with open(path, 'w') as f:
        yaml.safe_dump(data, f, sort_keys=False, width=79)
    print(f'wrote {path} ({len(data["Models"])} models)')


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('methods', nargs='+', choices=sorted(COLLECTIONS))
    for method in p.parse_args().methods:
        write(method)


if __name__ == '__main__':
    main()
