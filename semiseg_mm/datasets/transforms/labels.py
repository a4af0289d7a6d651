"""Loading masks that store raw label ids (GTA5, SYNTHIA)."""
import mmcv
import numpy as np
from mmengine import fileio
from mmseg.datasets.transforms import LoadAnnotations

from semiseg_mm.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadMappedAnnotations(LoadAnnotations):
    """mmseg's ``LoadAnnotations`` for masks of raw ids: the data info's
    ``label_id_map`` names the mapping (``GTA5Dataset``: Cityscapes label
    ids -> train ids; ``SynthiaDataset``: SYNTHIA ids -> its 16 Cityscapes
    classes) and ``label_channel`` the channel (RGB order) of a
    multi-channel mask that holds the id (SYNTHIA's 16-bit labels: 0).
    Unmapped ids become 255. One table look-up per mask, instead of a
    pass per id; a class subset (``label_map``, from a dataset's
    ``metainfo``) is applied after. For masks without ``label_id_map`` it
    behaves as ``LoadAnnotations``."""

    def _load_seg_map(self, results: dict) -> None:
        name = results.get('label_id_map')
        if not name:
            return super()._load_seg_map(results)
        from ..uda_datasets import label_lut
        path = results['seg_map_path']
        img_bytes = fileio.get(path, backend_args=self.backend_args)
        channel = results.get('label_channel')
        if channel is None:
            seg = mmcv.imfrombytes(img_bytes, flag='unchanged',
                                   backend=self.imdecode_backend).squeeze()
        else:
            # cv2 keeps 16-bit values and returns BGR
            seg = mmcv.imfrombytes(img_bytes, flag='unchanged',
                                   backend='cv2')
            if seg is None or seg.ndim != 3:
                raise ValueError(
                    f'{path}: expected a multi-channel label image with '
                    f'the class id in channel {channel}, got shape '
                    f'{None if seg is None else seg.shape}')
            seg = seg[..., seg.shape[-1] - 1 - channel]
        lut = label_lut(name)
        seg = np.asarray(seg)
        if seg.max(initial=0) >= len(lut):
            raise ValueError(f'{path}: label value {int(seg.max())} beyond '
                             f'the {name} id range [0, {len(lut)})')
        seg = lut[seg]
        if results.get('label_map') is not None:
            src = seg.copy()
            for old_id, new_id in results['label_map'].items():
                seg[src == old_id] = new_id
        results['gt_seg_map'] = seg
        results['seg_fields'].append('gt_seg_map')
