"""Samplers: shards that are disjoint, cover the data, have equal lengths, reshuffle per epoch."""

import numpy
import pytest

from distgrad import backend
from distgrad.data import (ArrayDataset, BatchSampler, DataLoader, DistributedEvalSampler,
                           DistributedSampler, RandomSampler, SequentialSampler, shard_indices)

SIZES = [0, 1, 2, 5, 13, 17, 64, 101]
RANKS = range(1, 8)


def _shards(n, replicas, **kw):
    return [DistributedSampler(range(n), replicas, r, **kw) for r in range(replicas)]


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("replicas", RANKS)
def test_distributed_sampler_pads_by_wrapping(replicas, n, shuffle):
    samplers = _shards(n, replicas, shuffle=shuffle, seed=3)
    parts = [s.indices() for s in samplers]
    per_rank = -(-n // replicas)
    assert all(len(p) == len(s) == per_rank for p, s in zip(parts, samplers))
    assert [list(s) for s in samplers] == [p.tolist() for p in parts]
    # Interleaving the shards gives back one permutation, the same on every rank, padded with
    # its own first elements: disjoint up to the padding, and covering everything.
    merged = numpy.empty(per_rank * replicas, numpy.int64)
    for r, p in enumerate(parts):
        merged[r::replicas] = p
    assert sorted(merged[:n].tolist()) == list(range(n))
    assert merged[n:].tolist() == merged[:per_rank * replicas - n].tolist()
    if not shuffle:
        assert merged[:n].tolist() == list(range(n))


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("replicas", RANKS)
def test_distributed_sampler_drop_last_truncates(replicas, n):
    parts = [s.indices() for s in _shards(n, replicas, drop_last=True)]
    assert all(len(p) == n // replicas for p in parts)
    everything = numpy.concatenate(parts)
    assert len(set(everything.tolist())) == len(everything) == n // replicas * replicas
    assert all(0 <= i < n for i in everything.tolist())


def test_distributed_sampler_reshuffles_per_epoch_and_is_deterministic():
    sampler = DistributedSampler(range(100), 3, 1, seed=7)
    first = sampler.indices()
    assert numpy.array_equal(first, DistributedSampler(range(100), 3, 1, seed=7).indices())
    sampler.set_epoch(1)
    second = sampler.indices()
    assert not numpy.array_equal(first, second)
    assert set(numpy.concatenate([s.indices() for s in _shards(100, 3, seed=7)]).tolist()) == \
        set(range(100))
    sampler.set_epoch(0)
    assert numpy.array_equal(sampler.indices(), first)
    assert not numpy.array_equal(first, DistributedSampler(range(100), 3, 1, seed=8).indices())


def test_distributed_sampler_matches_torch_unshuffled():
    torch = pytest.importorskip("torch")
    from torch.utils.data import DistributedSampler as TorchSampler
    for n in (10, 11, 13):
        for drop_last in (False, True):
            for r in range(4):
                ours = DistributedSampler(range(n), 4, r, shuffle=False, drop_last=drop_last)
                theirs = TorchSampler(range(n), 4, r, shuffle=False, drop_last=drop_last)
                assert list(ours) == list(theirs) and len(ours) == len(theirs)
    assert torch is not None


def test_distributed_sampler_rejects_bad_rank():
    with pytest.raises(ValueError, match="num_replicas=2, rank=2"):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="num_replicas=0"):
        DistributedSampler(range(4), num_replicas=0, rank=0)


@pytest.fixture
def fake_group(monkeypatch):
    import distgrad.distributed as dist
    monkeypatch.setattr(dist, "is_initialized", lambda: True)
    monkeypatch.setattr(dist, "get_world_size", lambda: 3)
    monkeypatch.setattr(dist, "get_rank", lambda: 2)
    return dist


def test_defaults_come_from_the_process_group(fake_group, monkeypatch):
    sampler = DistributedSampler(range(10))
    assert (sampler.num_replicas, sampler.rank) == (3, 2)
    assert (DistributedEvalSampler(range(10)).indices() == [7, 8, 9]).all()
    monkeypatch.setattr(fake_group, "is_initialized", lambda: False)
    sampler = DistributedSampler(range(10))
    assert (sampler.num_replicas, sampler.rank) == (1, 0)


def test_defaults_without_a_process_group(monkeypatch):
    import distgrad.distributed as dist
    monkeypatch.setattr(dist, "is_initialized", lambda: False)
    sampler = DistributedSampler(range(10), shuffle=False)
    assert (sampler.num_replicas, sampler.rank) == (1, 0)
    assert sampler.indices().tolist() == list(range(10))


@pytest.mark.parametrize("n", SIZES + [10000])
@pytest.mark.parametrize("replicas", RANKS)
def test_eval_split_evaluates_each_sample_exactly_once(replicas, n):
    shards = [DistributedEvalSampler(range(n), replicas, r).indices() for r in range(replicas)]
    assert numpy.concatenate(shards).tolist() == list(range(n))  # contiguous, in order, no padding
    lengths = [len(s) for s in shards]
    assert max(lengths) - min(lengths) <= 1
    assert all(numpy.array_equal(s, shard_indices(n, replicas, r)) for r, s in enumerate(shards))
    # Summing per-rank correct counts reproduces the one-process accuracy exactly.
    correct = numpy.random.default_rng(n).random(n) < 0.8
    assert sum(int(correct[s].sum()) for s in shards) == int(correct.sum())


def test_sequential_and_random_samplers():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    sampler = RandomSampler(range(50), seed=1)
    first = sampler.indices()
    assert sorted(first.tolist()) == list(range(50)) and len(sampler) == 50
    sampler.set_epoch(1)
    assert not numpy.array_equal(first, sampler.indices())
    backend.manual_seed(123)
    a = RandomSampler(range(50)).indices()
    backend.manual_seed(123)
    assert numpy.array_equal(a, RandomSampler(range(50)).indices())


@pytest.mark.parametrize("replicas", [1, 2, 3, 4])
def test_ranks_together_see_the_one_process_global_batch(replicas):
    """One process with batch R*b sees, at every step, exactly the union of the R ranks' batches
    of size b: what lets N-rank data parallelism be compared with one process number for number."""
    n, b = 96, 4
    data = ArrayDataset(numpy.arange(n))
    single = DataLoader(data, batch_size=replicas * b, shuffle=True, seed=5)
    ranks = [DataLoader(data, batch_size=b, sampler=DistributedSampler(data, replicas, r, seed=5))
             for r in range(replicas)]
    for _ in range(2):  # two epochs: the loaders advance the samplers' epochs in step
        steps = zip(single, *ranks)
        for global_batch, *local in steps:
            assert sorted(global_batch[0].tolist()) == sorted(numpy.concatenate(
                [x for (x,) in local]).tolist())


def test_random_sampler_replacement_and_num_samples():
    with_replacement = RandomSampler(range(5), replacement=True, num_samples=12, seed=0)
    drawn = with_replacement.indices()
    assert len(with_replacement) == 12 and len(drawn) == 12 and drawn.max() < 5
    assert len(set(drawn.tolist())) < 12  # 12 draws from 5 values repeat
    longer = RandomSampler(range(5), num_samples=12, seed=0).indices().tolist()
    assert sorted(longer[:10]) == sorted(list(range(5)) * 2) and len(longer) == 12
    assert RandomSampler(range(5), num_samples=3, seed=0).indices().tolist() == \
        RandomSampler(range(5), seed=0).indices().tolist()[:3]
    with pytest.raises(TypeError, match="replacement should be a boolean value"):
        RandomSampler(range(5), replacement=1)
    with pytest.raises(ValueError, match="num_samples should be a positive integer value"):
        RandomSampler(range(5), num_samples=0)


def test_batch_sampler_matches_torch():
    pytest.importorskip("torch")
    from torch.utils.data import BatchSampler as TorchBatchSampler
    from torch.utils.data import SequentialSampler as TorchSequential
    for drop_last in (False, True):
        ours = BatchSampler(SequentialSampler(range(10)), 3, drop_last)
        theirs = TorchBatchSampler(TorchSequential(range(10)), 3, drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
    with pytest.raises(ValueError, match="batch_size should be a positive integer value"):
        BatchSampler(SequentialSampler(range(3)), 0, False)
    with pytest.raises(ValueError, match="drop_last should be a boolean value"):
        BatchSampler(SequentialSampler(range(3)), 2, 1)
