"""DataLoader: batching, seeded epochs, the one-gather fast path, prefetch, mid-epoch resume,
PyTorch's arguments and PyTorch's set_epoch semantics."""
import json
import threading

import numpy
import pytest

import distgrad
from distgrad import backend
from distgrad.data import (ArrayDataset, BatchSampler, DataLoader, Dataset, DistributedSampler,
                           SequentialSampler, default_collate)


def _data(n=10):
    return ArrayDataset(numpy.arange(n * 2, dtype=numpy.float32).reshape(n, 2),
                        numpy.arange(n, dtype=numpy.int64))


def _labels(loader):
    return [y.tolist() for _, y in loader]


def _prefetch_threads():
    return [t for t in threading.enumerate() if t.name == "distgrad-prefetch"]


class ListDataset(Dataset):
    """A generic data set: Python lists, one sample per call."""

    def __init__(self, n):
        self.calls = 0
        self.samples = [(numpy.full((2,), i, numpy.float32), i) for i in range(n)]

    def __getitem__(self, i):
        self.calls += 1
        return self.samples[i]

    def __len__(self):
        return len(self.samples)


class BatchingDataset(ListDataset):
    """Accepts index arrays, so the loader should call it once per batch."""

    supports_index_arrays = True

    def __getitem__(self, index):
        self.calls += 1
        return (numpy.stack([self.samples[i][0] for i in numpy.atleast_1d(index)]),
                numpy.asarray(index))


def test_sequential_batches_and_len():
    loader = DataLoader(_data(10), batch_size=4)
    assert len(loader) == 3
    batches = list(loader)
    assert [y.tolist() for _, y in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    x, y = batches[0]
    assert x.shape == (4, 2) and x.dtype == numpy.float32 and y.dtype == numpy.int64
    numpy.testing.assert_array_equal(x, _data(10).arrays[0][:4])


def test_drop_last():
    loader = DataLoader(_data(10), batch_size=4, drop_last=True)
    assert len(loader) == 2 and _labels(loader) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(DataLoader(_data(3), batch_size=4, drop_last=True)) == 0


def test_shuffle_covers_each_sample_once_and_reshuffles_each_epoch():
    loader = DataLoader(_data(50), batch_size=8, shuffle=True, seed=1)
    first, second = _labels(loader), _labels(loader)
    assert sorted(sum(first, [])) == sorted(sum(second, [])) == list(range(50))
    assert first != second and loader.epoch == 2


def test_seed_makes_the_order_reproducible():
    a = DataLoader(_data(50), batch_size=8, shuffle=True, seed=1)
    b = DataLoader(_data(50), batch_size=8, shuffle=True, seed=1)
    assert [_labels(a) for _ in range(3)] == [_labels(b) for _ in range(3)]
    c = DataLoader(_data(50), batch_size=8, shuffle=True, seed=2)
    assert _labels(c) != _labels(DataLoader(_data(50), batch_size=8, shuffle=True, seed=1))


def test_manual_seed_makes_the_default_seed_reproducible():
    backend.manual_seed(42)
    a = _labels(DataLoader(_data(50), batch_size=8, shuffle=True))
    backend.manual_seed(42)
    assert a == _labels(DataLoader(_data(50), batch_size=8, shuffle=True))


def test_generic_dataset_is_stacked_per_sample():
    dataset = ListDataset(7)
    batches = list(DataLoader(dataset, batch_size=3))
    assert dataset.calls == 7
    x, y = batches[2]
    assert x.shape == (1, 2) and y.tolist() == [6]
    reference = list(DataLoader(_data(7), batch_size=3))
    assert [b[1].tolist() for b in batches] == [b[1].tolist() for b in reference]


def test_index_array_dataset_gets_one_call_per_batch():
    dataset = BatchingDataset(10)
    batches = list(DataLoader(dataset, batch_size=4, shuffle=True, seed=0))
    assert dataset.calls == 3
    assert sorted(numpy.concatenate([y for _, y in batches]).tolist()) == list(range(10))


def test_batches_are_tensors_holding_numpy_arrays_on_the_cpu():
    x, y = next(iter(DataLoader(_data(4), batch_size=2, device="cpu")))
    assert isinstance(x.array, numpy.ndarray) and isinstance(y.array, numpy.ndarray)
    assert x.device == "cpu" and not x.requires_grad


def test_argument_errors():
    with pytest.raises(ValueError, match="batch_size=0"):
        DataLoader(_data(), batch_size=0)
    with pytest.raises(ValueError, match=r"shuffle=True\) cannot be combined"):
        DataLoader(_data(), shuffle=True, sampler=DistributedSampler(_data(), 1, 0))
    with pytest.raises(ValueError, match="set the sampler's seed instead"):
        DataLoader(_data(), seed=1, sampler=DistributedSampler(_data(), 1, 0))


def test_prefetch_yields_the_same_batches():
    plain = DataLoader(_data(37), batch_size=5, shuffle=True, seed=3)
    ahead = DataLoader(_data(37), batch_size=5, shuffle=True, seed=3, prefetch=True)
    for _ in range(2):
        assert _labels(plain) == _labels(ahead)
    assert not _prefetch_threads()


class FailingDataset(ListDataset):
    def __getitem__(self, i):
        if i == 5:
            raise KeyError("sample 5 is unreadable")
        return super().__getitem__(i)


@pytest.mark.parametrize("prefetch", [False, True])
def test_exceptions_propagate(prefetch):
    loader = DataLoader(FailingDataset(10), batch_size=2, prefetch=prefetch)
    seen = []
    with pytest.raises(KeyError, match="sample 5 is unreadable"):
        for _, y in loader:
            seen.append(y.tolist())
    assert seen == [[0, 1], [2, 3]]
    assert not _prefetch_threads()


def test_breaking_out_does_not_leak_the_prefetch_thread():
    loader = DataLoader(_data(100), batch_size=2, prefetch=True)
    for _ in range(3):
        for i, _ in enumerate(loader):
            if i == 2:
                break
    assert not _prefetch_threads()
    iterator = iter(loader)
    next(iterator)
    assert len(_prefetch_threads()) == 1
    iterator.close()
    assert not _prefetch_threads()


def test_breaking_out_starts_a_new_epoch_next_time():
    loader = DataLoader(_data(20), batch_size=5, shuffle=True, seed=0)
    for _ in loader:
        break
    assert loader.epoch == 0
    reference = DataLoader(_data(20), batch_size=5, shuffle=True, seed=0)
    reference.set_epoch(1)
    assert _labels(loader) == _labels(reference)


@pytest.mark.parametrize("prefetch", [False, True])
@pytest.mark.parametrize("stop_at", [0, 1, 4, 7])
def test_state_dict_resumes_the_remaining_batches(prefetch, stop_at):
    def fresh():
        return DataLoader(_data(30), batch_size=4, shuffle=True, seed=9, prefetch=prefetch)

    reference = fresh()
    epochs = [_labels(reference) for _ in range(3)]

    loader = fresh()
    _labels(loader)  # epoch 0 complete
    seen = []
    for _, y in loader:
        if len(seen) == stop_at:
            break
        seen.append(y.tolist())
    state = json.loads(json.dumps(loader.state_dict()))
    assert state["epoch"] == 1 and state["batches_yielded"] == stop_at + 1

    # The checkpoint is taken while batch stop_at is in use: it counts as seen.
    resumed = DataLoader(_data(30), batch_size=4, shuffle=True, seed=None, prefetch=prefetch)
    resumed.load_state_dict(state)
    assert seen + [epochs[1][stop_at]] + _labels(resumed) == epochs[1]
    assert _labels(resumed) == epochs[2]


def test_state_dict_mismatch_is_an_error():
    state = DataLoader(_data(30), batch_size=4).state_dict()
    with pytest.raises(ValueError, match="saved batch_size=4 but this loader has batch_size=5"):
        DataLoader(_data(30), batch_size=5).load_state_dict(state)
    with pytest.raises(ValueError, match="num_samples=30"):
        DataLoader(_data(31), batch_size=4).load_state_dict(state)


def test_loader_drives_the_sampler_epoch_and_follows_set_epoch():
    data = _data(40)
    sampler = DistributedSampler(data, 2, 1, seed=4)
    loader = DataLoader(data, batch_size=5, sampler=sampler)
    epoch0 = _labels(loader)
    assert sampler.epoch == 1
    epoch1 = _labels(loader)
    assert epoch0 != epoch1
    sampler.set_epoch(0)  # PyTorch's idiom: the caller picks the epoch
    assert _labels(loader) == epoch0 and loader.epoch == 1

    state = {**loader.state_dict(), "epoch": 1, "batches_yielded": 2}
    other_sampler = DistributedSampler(data, 2, 1, seed=4)
    resumed = DataLoader(data, batch_size=5, sampler=other_sampler)
    resumed.load_state_dict(state)
    other_sampler.set_epoch(1)  # a training loop written for PyTorch does this: no effect
    assert _labels(resumed) == epoch1[2:]


def test_generic_datasets_collate_dicts_and_python_floats():
    class Records(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"x": numpy.array([i, 2 * i], dtype=numpy.float32), "w": float(i), "y": i}

    batches = list(DataLoader(Records(), batch_size=2))
    first = batches[0]
    assert set(first) == {"x", "w", "y"} and len(batches) == 3
    assert first["x"].dtype == numpy.float32 and first["x"].shape == (2, 2)
    assert first["w"].dtype == numpy.float64  # Python floats collate to float64, as in PyTorch
    assert first["y"].dtype == numpy.int64 and first["y"].numpy().tolist() == [0, 1]


def _distributed_orders(data, epochs, **kw):
    """The order DistributedSampler gives each epoch, computed without a loader."""
    orders = []
    for epoch in range(epochs):
        sampler = DistributedSampler(data, 2, 0, seed=4, **kw)
        sampler.set_epoch(epoch)
        orders.append(sampler.indices().tolist())
    return orders


def test_peeking_a_batch_does_not_shift_the_epochs_set_later():
    data = _data(40)
    sampler = DistributedSampler(data, 2, 0, seed=4)
    loader = DataLoader(data, batch_size=5, sampler=sampler)
    next(iter(loader))  # e.g. to print a batch's shape before training
    seen = []
    for epoch in range(3):
        sampler.set_epoch(epoch)
        seen.append(sum(_labels(loader), []))
    assert seen == _distributed_orders(data, 3)
    assert len({tuple(order) for order in seen}) == 3


def test_set_epoch_before_the_loader_exists_or_mid_pass_counts():
    data = _data(40)
    sampler = DistributedSampler(data, 2, 0, seed=4)
    sampler.set_epoch(2)
    loader = DataLoader(data, batch_size=5, sampler=sampler, prefetch=True)
    assert sum(_labels(loader), []) == _distributed_orders(data, 3)[2]
    iterator = iter(loader)
    next(iterator)
    sampler.set_epoch(1)  # while a pass is under way: counts from the next iter() on
    assert len(list(iterator)) == len(loader) - 1
    assert sum(_labels(loader), []) == _distributed_orders(data, 2)[1]
    # A loop that never calls set_epoch still reshuffles: epoch 2 follows epoch 1.
    assert sum(_labels(loader), []) == _distributed_orders(data, 3)[2]


def test_the_loaders_own_shuffle_depends_only_on_the_epoch():
    def order(loader):
        return sum(_labels(loader), [])

    reference = DataLoader(_data(30), batch_size=4, shuffle=True, seed=2)
    epochs = [order(reference) for _ in range(3)]
    loader = DataLoader(_data(30), batch_size=4, shuffle=True, seed=2)
    next(iter(loader))
    for epoch in range(3):
        loader.sampler.set_epoch(epoch)
        assert order(loader) == epochs[epoch]
    loader.set_epoch(1)
    assert order(loader) == epochs[1]


def test_generator_seeds_the_shuffle():
    def order(generator):
        return _labels(DataLoader(_data(30), batch_size=4, shuffle=True, generator=generator))

    assert order(distgrad.Generator().manual_seed(1)) == order(distgrad.Generator().manual_seed(1))
    assert order(distgrad.Generator().manual_seed(1)) != order(distgrad.Generator().manual_seed(2))
    with pytest.raises(ValueError, match="give one of them"):
        DataLoader(_data(), shuffle=True, seed=1, generator=distgrad.Generator())


@pytest.mark.parametrize("workers", [1, 3])
def test_num_workers_load_ahead_in_a_thread_with_worker_init_fn(workers):
    calls = []
    loader = DataLoader(_data(37), batch_size=5, shuffle=True, seed=3, num_workers=workers,
                        worker_init_fn=lambda i: calls.append((i, threading.current_thread().name)))
    assert loader.prefetch_factor == 2
    plain = DataLoader(_data(37), batch_size=5, shuffle=True, seed=3)
    for _ in range(2):
        assert _labels(loader) == _labels(plain)
    assert calls == [(i, "distgrad-prefetch") for i in range(workers)] * 2
    assert not _prefetch_threads()
    calls.clear()
    persistent = DataLoader(_data(10), batch_size=5, num_workers=2, persistent_workers=True,
                            worker_init_fn=lambda i: calls.append(i))
    _labels(persistent), _labels(persistent)
    assert calls == [0, 1]


def test_timeout_raises_when_a_batch_takes_too_long():
    release = threading.Event()

    class Slow(ListDataset):
        def __getitem__(self, i):
            release.wait(5)
            return super().__getitem__(i)

    loader = DataLoader(Slow(4), batch_size=2, num_workers=1, timeout=0.2)
    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.2 seconds"):
        next(iter(loader))
    release.set()


def test_collate_fn_gets_the_list_of_samples():
    seen = []

    def collate(samples):
        seen.append(samples)
        return len(samples)

    assert list(DataLoader(_data(5), batch_size=2, collate_fn=collate)) == [2, 2, 1]
    x, y = seen[0][1]
    assert x.tolist() == [2.0, 3.0] and int(y) == 1  # one sample, as the data set gives it
    explicit = list(DataLoader(_data(3), batch_size=2, collate_fn=default_collate))
    assert explicit[1][1].tolist() == [2]


def test_batch_size_none_and_batch_sampler():
    torch = pytest.importorskip("torch")
    samples = list(DataLoader(_data(3), batch_size=None))
    assert len(samples) == 3 and samples[1][0].shape == (2,) and samples[1][1].shape == ()
    theirs = list(torch.utils.data.DataLoader([(numpy.ones(2), i) for i in range(3)],
                                              batch_size=None))
    assert type(samples[1]) is type(theirs[1]) is list
    batches = DataLoader(_data(10), batch_sampler=BatchSampler(SequentialSampler(range(10)), 4,
                                                                drop_last=True))
    assert len(batches) == 2 and _labels(batches) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert batches.batch_size is None and not batches.drop_last
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(_data(), batch_size=4, batch_sampler=[[0, 1]])
    with pytest.raises(ValueError, match="batch_size=None.*mutually exclusive with drop_last"):
        DataLoader(_data(), batch_size=None, drop_last=True)


def test_batch_sampler_over_a_distributed_sampler_follows_set_epoch():
    data = _data(40)
    sampler = DistributedSampler(data, 2, 0, seed=4)
    loader = DataLoader(data, batch_sampler=BatchSampler(sampler, 5, drop_last=False))
    next(iter(loader))
    sampler.set_epoch(1)
    assert sum(_labels(loader), []) == _distributed_orders(data, 2)[1]


def test_attributes_and_argument_checks_as_in_torch():
    torch = pytest.importorskip("torch")
    ours = DataLoader(_data(10), batch_size=3, shuffle=True, drop_last=True, pin_memory=True)
    theirs = torch.utils.data.DataLoader(list(range(10)), batch_size=3, shuffle=True,
                                         drop_last=True, pin_memory=False)
    for name in ("batch_size", "drop_last", "num_workers", "timeout", "prefetch_factor",
                 "persistent_workers"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert type(ours.sampler).__name__ == type(theirs.sampler).__name__ == "RandomSampler"
    assert type(ours.batch_sampler).__name__ == "BatchSampler" and len(ours) == len(theirs) == 3
    for kwargs, message in [({"num_workers": -1}, "num_workers should be non-negative"),
                            ({"timeout": -1}, "timeout option should be non-negative"),
                            ({"prefetch_factor": 2}, "prefetch_factor=2.*needs num_workers > 0"),
                            ({"persistent_workers": True}, "needs num_workers > 0"),
                            ({"multiprocessing_context": "spawn"}, "needs num_workers > 0")]:
        with pytest.raises(ValueError, match=message):
            DataLoader(_data(), **kwargs)
        with pytest.raises(ValueError):
            torch.utils.data.DataLoader(list(range(4)), **kwargs)
    # Accepted with workers, as in PyTorch.
    DataLoader(_data(), num_workers=2, prefetch_factor=4, persistent_workers=True,
               multiprocessing_context="spawn", pin_memory_device="cuda", in_order=True)


def test_generic_dataset_batches_match_torch():
    torch = pytest.importorskip("torch")

    class Records(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"x": numpy.array([i, 2 * i], dtype=numpy.float32), "pair": (i, float(i))}

    ours = list(DataLoader(Records(), batch_size=2))
    theirs = list(torch.utils.data.DataLoader(Records(), batch_size=2))
    for a, b in zip(ours, theirs, strict=True):
        assert a["x"].tolist() == b["x"].tolist() and a["x"].dtype == numpy.float32
        assert type(a["pair"]) is type(b["pair"]) is list
        assert [t.tolist() for t in a["pair"]] == [t.tolist() for t in b["pair"]]
        assert [t.dtype for t in a["pair"]] == [numpy.int64, numpy.float64]
