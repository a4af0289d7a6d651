"""The scheduled labelled share (ScheduledSourceSampler) and the COCO split
tool: schedules, exact counts per batch, resume, ranks, bad input."""
import itertools
import json
import math

import pytest
from torch.utils.data import ConcatDataset

from semiseg_mm.datasets import samplers as samplers_module
from semiseg_mm.datasets.samplers import (ScheduledSourceSampler,
                                          labelled_count, scheduled_share)


class Items(list):
    """A sized stand-in for a dataset."""


def two_sources(n_lab=10, n_unlab=30):
    return ConcatDataset([Items(range(n_lab)), Items(range(n_unlab))])


def batches(sampler, num, batch_size):
    it = iter(sampler)
    return [[next(it) for _ in range(batch_size)] for _ in range(num)]


def test_linear_and_cosine_share_at_start_middle_end():
    assert scheduled_share(0, 100, 0.5, 0.0) == 0.5
    assert scheduled_share(50, 100, 0.5, 0.0) == pytest.approx(0.25)
    assert scheduled_share(100, 100, 0.5, 0.0) == 0.0
    assert scheduled_share(250, 100, 0.5, 0.0) == 0.0  # stays at the end
    assert scheduled_share(0, 100, 0.5, 0.0, schedule='cosine') == 0.5
    # cos(pi/2) = 0: halfway in value at half the schedule
    assert scheduled_share(50, 100, 0.5, 0.0,
                           schedule='cosine') == pytest.approx(0.25)
    # a quarter in: 0.25 + 0.25 cos(pi/4) = 0.4268
    assert scheduled_share(25, 100, 0.5, 0.0, schedule='cosine') == \
        pytest.approx(0.25 + 0.25 * math.cos(math.pi / 4))
    assert scheduled_share(100, 100, 0.5, 0.0, schedule='cosine') == \
        pytest.approx(0.0)
    # floor: never below it
    assert scheduled_share(90, 100, 0.5, 0.0, floor=0.125) == 0.125
    assert scheduled_share(70, 100, 0.5, 0.0, schedule='constant') == 0.5


def test_counts_round_half_up():
    assert labelled_count(0.5, 8) == 4
    assert labelled_count(0.5, 5) == 3  # 2.5 -> 3
    assert labelled_count(0.3, 5) == 2  # 1.5 -> 2 (not banker's 2)
    assert labelled_count(0.1, 5) == 1  # 0.5 -> 1
    assert labelled_count(0.09, 5) == 0
    assert labelled_count(0.0, 5) == 0


def test_each_batch_holds_exactly_the_scheduled_count():
    ds = two_sources()
    sampler = ScheduledSourceSampler(ds, batch_size=8, num_batches=16,
                                     start=0.5, end=0.0, seed=3)
    got = batches(sampler, 20, 8)
    for b, batch in enumerate(got):
        n = labelled_count(0.5 * (1 - min(b, 16) / 16), 8)
        assert n == sampler.count(b)
        # labelled first (dataset indices < 10), then unlabelled
        assert all(i < 10 for i in batch[:n]), (b, batch)
        assert all(i >= 10 for i in batch[n:]), (b, batch)
    counts = [sampler.count(b) for b in range(20)]
    assert counts[0] == 4 and counts[8] == 2 and counts[16:] == [0] * 4
    assert counts == sorted(counts, reverse=True)


def test_cosine_schedule_and_floor_in_the_sampler():
    ds = two_sources()
    sampler = ScheduledSourceSampler(ds, batch_size=4, num_batches=10,
                                     start=1.0, end=0.0, floor=0.25,
                                     schedule='cosine', seed=0)
    counts = [sampler.count(b) for b in range(12)]
    assert counts[0] == 4 and counts[-1] == 1  # the floor keeps one
    got = batches(sampler, 12, 4)
    assert [sum(i < 10 for i in b) for b in got] == counts


def test_deterministic_per_seed_and_resume_replays_the_sequence():
    """MMEngine resumes by drawing the batches already trained on from a
    fresh loader: a new sampler (same seed) yields the same sequence, so
    batches k.. after a replay of k batches are the uninterrupted ones."""
    ds = two_sources()
    make = lambda seed: ScheduledSourceSampler(  # noqa: E731
        ds, batch_size=6, num_batches=30, seed=seed)
    straight = batches(make(5), 30, 6)
    resumed_it = iter(make(5))
    for _ in range(12 * 6):  # fast-forward 12 batches, as the loop does
        next(resumed_it)
    resumed = [[next(resumed_it) for _ in range(6)] for _ in range(18)]
    assert resumed == straight[12:]
    assert batches(make(6), 30, 6) != straight
    # a second __iter__ on the same sampler restarts the sequence
    s = make(5)
    assert batches(s, 5, 6) == batches(s, 5, 6) == straight[:5]


def test_two_ranks_draw_disjoint_indices(monkeypatch):
    ds = two_sources(n_lab=8, n_unlab=8)
    per_rank = []
    for rank in (0, 1):
        monkeypatch.setattr(samplers_module, 'get_dist_info',
                            lambda rank=rank: (rank, 2))
        sampler = ScheduledSourceSampler(ds, batch_size=4, num_batches=100,
                                         start=0.5, end=0.5, seed=1)
        assert (sampler.rank, sampler.world_size) == (rank, 2)
        # 2 batches x 2 labelled (and 2 unlabelled) on each of the 2 ranks:
        # one pass over each source
        assert [sampler.count(b) for b in range(2)] == [2, 2]
        per_rank.append(list(itertools.chain.from_iterable(
            batches(sampler, 2, 4))))
    for lo, hi in ((0, 8), (8, 16)):
        parts = [{i for i in got if lo <= i < hi} for got in per_rank]
        assert len(parts[0]) == len(parts[1]) == 4
        assert not parts[0] & parts[1]
        assert parts[0] | parts[1] == set(range(lo, hi))


def test_a_batch_with_no_labelled_image():
    ds = two_sources()
    sampler = ScheduledSourceSampler(ds, batch_size=4, num_batches=2,
                                     start=0.5, end=0.0, seed=0)
    got = batches(sampler, 4, 4)
    assert [sum(i < 10 for i in b) for b in got] == [2, 1, 0, 0]


@pytest.mark.parametrize('kwargs,match', [
    (dict(start=-0.1), r'start=-0.1 is not a share in \[0, 1\]'),
    (dict(start=1.5), r'start=1.5 is not a share'),
    (dict(end=-0.5), r'end=-0.5 is not a share'),
    (dict(floor=2), r'floor=2 is not a share'),
    (dict(batch_size=2.5), r'batch_size must be a positive integer, got '
     r'2.5'),
    (dict(batch_size=0), r'batch_size must be a positive integer'),
    (dict(num_batches=0), r'num_batches must be a positive integer'),
    (dict(num_batches=10.5), r'num_batches must be a positive integer'),
    (dict(schedule='exp'), r"schedule must be one of .*got 'exp'"),
])
def test_bad_schedules_name_the_key(kwargs, match):
    args = dict(batch_size=4, num_batches=10)
    args.update(kwargs)
    with pytest.raises(ValueError, match=r'train_dataloader\.sampler.*' +
                       match):
        ScheduledSourceSampler(two_sources(), **args)


def test_bad_datasets():
    with pytest.raises(TypeError, match='needs a ConcatDataset'):
        ScheduledSourceSampler(Items(range(4)), batch_size=2, num_batches=2)
    three = ConcatDataset([Items(range(2))] * 3)
    with pytest.raises(ValueError, match='exactly 2 sources'):
        ScheduledSourceSampler(three, batch_size=2, num_batches=2)
    empty_unlab = ConcatDataset([Items(range(4)), Items()])
    with pytest.raises(ValueError, match=r'source 1 \(unlabelled\) is empty'):
        ScheduledSourceSampler(empty_unlab, batch_size=2, num_batches=2)
    # an empty unlabelled set is fine while every batch is labelled
    ScheduledSourceSampler(empty_unlab, batch_size=2, num_batches=2,
                           start=1.0, end=1.0)


# --------------------------------------------------------------------- #
# COCO semi-supervised splits
# --------------------------------------------------------------------- #


def coco(num_images=20):
    return dict(
        images=[dict(id=i + 1, file_name=f'{i:05d}.png', height=8, width=8)
                for i in range(num_images)],
        annotations=[
            dict(id=k + 1, image_id=(k % num_images) + 1, bbox=[0, 0, 2, 2],
                 area=4, iscrowd=0, category_id=1)
            for k in range(2 * num_images)
        ],
        categories=[dict(id=1, name='disc')])


def test_split_coco_writes_mmdet_names_and_disjoint_parts(tmp_path):
    from semiseg_mm.det.coco_splits import split_names, write_splits
    ann = tmp_path / 'instances_train.json'
    ann.write_text(json.dumps(coco(20)))
    written = write_splits(str(ann), str(tmp_path / 'semi'), [10, 25],
                           [1, 2], seed=0)
    assert split_names(str(ann), 1, 10) == ('instances_train.1@10.json',
                                            'instances_train.1@10-'
                                            'unlabeled.json')
    assert written['instances_train.1@10.json'] == 2
    assert written['instances_train.1@10-unlabeled.json'] == 18
    assert written['instances_train.2@25.json'] == 5
    folds = []
    for fold in (1, 2):
        lab = json.loads(
            (tmp_path / 'semi' / f'instances_train.{fold}@25.json')
            .read_text())
        unlab = json.loads(
            (tmp_path / 'semi' /
             f'instances_train.{fold}@25-unlabeled.json').read_text())
        lab_ids = {im['id'] for im in lab['images']}
        unlab_ids = {im['id'] for im in unlab['images']}
        assert not lab_ids & unlab_ids
        assert lab_ids | unlab_ids == set(range(1, 21))
        # every image keeps its own boxes, in the file of its part
        assert {a['image_id'] for a in lab['annotations']} == lab_ids
        assert len(unlab['annotations']) == 2 * len(unlab_ids)
        assert lab['categories'] == unlab['categories']
        folds.append(lab_ids)
    assert folds[0] != folds[1]  # folds draw with their own seeds


def test_split_coco_bad_input(tmp_path):
    from semiseg_mm.det.coco_splits import load_coco, split_coco
    bad = coco(4)
    bad['annotations'][0]['image_id'] = 99
    path = tmp_path / 'bad.json'
    path.write_text(json.dumps(bad))
    with pytest.raises(ValueError, match=r'bad.json: annotations name image '
                       r'ids that are not in its images list: \[99\]'):
        load_coco(str(path))
    path.write_text(json.dumps(dict(images=[])))
    with pytest.raises(ValueError, match="no 'annotations' list"):
        load_coco(str(path))
    with pytest.raises(ValueError, match='leaves no unlabelled image'):
        split_coco(coco(2), 90, 0)
