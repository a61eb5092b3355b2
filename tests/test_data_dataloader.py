"""DataLoader: batching, seeded epochs, the one-gather fast path, prefetch, and mid-epoch resume."""
import json
import threading

import numpy
import pytest

from distgrad import backend
from distgrad.data import ArrayDataset, DataLoader, Dataset, DistributedSampler


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


def test_array_dataset_indexing():
    ds = _data(5)
    x, y = ds[3]
    assert x.tolist() == [6.0, 7.0] and int(y) == 3
    assert ds[numpy.array([4, 0])][1].tolist() == [4, 0]
    with pytest.raises(ValueError, match=r"different lengths \[3, 2\]"):
        ArrayDataset(numpy.zeros(3), numpy.zeros(2))


def test_batches_are_tensors_holding_numpy_arrays_on_the_cpu():
    x, y = next(iter(DataLoader(_data(4), batch_size=2, device="cpu")))
    assert isinstance(x.data, numpy.ndarray) and isinstance(y.data, numpy.ndarray)
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
