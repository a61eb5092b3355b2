"""TensorDataset, Subset, ConcatDataset, random_split and Generator, compared with
torch.utils.data where torch is installed."""
from contextlib import nullcontext

import numpy
import pytest

import distgrad
from distgrad import Tensor
from distgrad.data import (ArrayDataset, ConcatDataset, DataLoader, Dataset, Subset,
                           TensorDataset, random_split)


def _tensor_dataset(n=10):
    return TensorDataset(distgrad.tensor(numpy.arange(2 * n, dtype=numpy.float32).reshape(n, 2)),
                         distgrad.tensor(numpy.arange(n)))


def test_tensor_dataset_items_are_tuples_of_tensors_as_in_torch():
    torch = pytest.importorskip("torch")
    ours = _tensor_dataset()
    theirs = torch.utils.data.TensorDataset(torch.arange(20, dtype=torch.float32).view(10, 2),
                                            torch.arange(10))
    assert len(ours) == len(theirs) == 10
    for i in (0, 3, -1):
        x, y = ours[i]
        tx, ty = theirs[i]
        assert type(ours[i]) is tuple and isinstance(x, Tensor) and isinstance(y, Tensor)
        assert x.tolist() == tx.tolist() and y.item() == ty.item() and y.dtype == numpy.int64
    assert ours[1:3][0].shape == (2, 2)
    with pytest.raises(ValueError, match=r"size mismatch .*\[3, 2\]"):
        TensorDataset(distgrad.zeros(3, 2), distgrad.zeros(2))


def test_tensor_dataset_batches_match_torch_data_loader():
    torch = pytest.importorskip("torch")
    ours = DataLoader(_tensor_dataset(), batch_size=4)
    theirs = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.arange(20, dtype=torch.float32).view(10, 2),
                                       torch.arange(10)), batch_size=4)
    for a, b in zip(ours, theirs, strict=True):
        assert type(a) is type(b) is list
        assert [t.tolist() for t in a] == [t.tolist() for t in b]
        assert a[0].dtype == numpy.float32 and a[1].dtype == numpy.int64


def test_subset_indexes_through_and_keeps_the_fast_path():
    data = _tensor_dataset()
    subset = Subset(data, [7, 2, 5])
    assert len(subset) == 3 and subset[1][1].item() == 2 and subset[-1][1].item() == 5
    assert subset.supports_index_arrays
    batches = list(DataLoader(subset, batch_size=2))
    assert [y.tolist() for _, y in batches] == [[7, 2], [5]]
    assert batches[0][0].tolist() == [[14.0, 15.0], [4.0, 5.0]]
    assert [int(y) for _, y in subset.__getitems__([0, 2])] == [7, 5]

    class Plain(Dataset):
        def __getitem__(self, i):
            return {"i": i}

        def __len__(self):
            return 10

    plain = Subset(Plain(), range(3, 8))
    assert not plain.supports_index_arrays and plain[0] == {"i": 3}
    assert [b["i"].tolist() for b in DataLoader(plain, batch_size=3)] == [[3, 4, 5], [6, 7]]


def test_concat_dataset_as_in_torch():
    torch = pytest.importorskip("torch")
    parts = [list(range(3)), list(range(10, 14)), list(range(20, 22))]
    ours, theirs = ConcatDataset(parts), torch.utils.data.ConcatDataset(parts)
    assert len(ours) == len(theirs) == 9 and ours.cumulative_sizes == theirs.cumulative_sizes
    assert [ours[i] for i in range(-9, 9)] == [theirs[i] for i in range(-9, 9)]
    with pytest.raises(ValueError, match="absolute value of index"):
        ours[-10]
    with pytest.raises(AssertionError, match="should not be an empty"):
        ConcatDataset([])
    both = _tensor_dataset(3) + _tensor_dataset(2)
    assert isinstance(both, ConcatDataset)
    assert [y.tolist() for _, y in DataLoader(both, batch_size=4)] == [[0, 1, 2, 0], [1]]


@pytest.mark.parametrize("lengths", [[7, 3], [0.7, 0.3], [0.5, 0.3, 0.2], [0.34, 0.33, 0.33],
                                     [1.0, 0.0]])
def test_random_split_lengths_as_in_torch(lengths):
    torch = pytest.importorskip("torch")
    with pytest.warns(UserWarning, match="index 1 is 0") if 0.0 in lengths else nullcontext():
        ours = random_split(range(10), lengths, generator=distgrad.Generator().manual_seed(1))
        theirs = torch.utils.data.random_split(range(10), lengths,
                                               generator=torch.Generator().manual_seed(1))
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    assert all(isinstance(s, Subset) for s in ours)
    assert sorted(i for s in ours for i in s) == list(range(10))  # disjoint and complete


def test_random_split_is_seeded_by_its_generator_or_manual_seed():
    def split(generator):
        return [list(s) for s in random_split(range(20), [15, 5], generator=generator)]

    assert split(distgrad.Generator().manual_seed(3)) == split(distgrad.Generator().manual_seed(3))
    assert split(distgrad.Generator().manual_seed(3)) != split(distgrad.Generator().manual_seed(4))
    distgrad.manual_seed(5)
    first = split(None)
    distgrad.manual_seed(5)
    assert split(None) == first
    with pytest.raises(ValueError, match=r"Sum of input lengths \(9\) does not equal .*\(10\)"):
        random_split(range(10), [5, 4])
    with pytest.raises(ValueError, match="Fraction at index 0 is not between 0 and 1"):
        random_split(range(10), [1.5, -0.5])
    with pytest.raises(TypeError, match="expected a distgrad.Generator"):
        random_split(range(10), [5, 5], generator=7)


def test_generator_seeds_and_state():
    g = distgrad.Generator()
    assert g.initial_seed() == 67280421310721 and g.device == "cpu"
    assert g.manual_seed(-1).initial_seed() == 2 ** 64 - 2  # PyTorch's mapping of negatives
    g.manual_seed(11)
    state = g.get_state()
    assert isinstance(state, Tensor) and state.dtype == numpy.uint8
    first = [list(s) for s in random_split(range(8), [4, 4], generator=g)]
    assert [list(s) for s in random_split(range(8), [4, 4], generator=g)] != first
    g.set_state(state)
    assert [list(s) for s in random_split(range(8), [4, 4], generator=g)] == first
    assert isinstance(g.seed(), int)
    with pytest.raises(RuntimeError, match="seed must be in"):
        g.manual_seed(2 ** 64)
    with pytest.raises(RuntimeError, match="state from Generator.get_state"):
        g.set_state(Tensor(numpy.zeros(4, numpy.uint8)))


def test_array_dataset_indexing():
    ds = ArrayDataset(numpy.arange(10, dtype=numpy.float32).reshape(5, 2), numpy.arange(5))
    x, y = ds[3]
    assert x.tolist() == [6.0, 7.0] and int(y) == 3
    assert ds[numpy.array([4, 0])][1].tolist() == [4, 0]
    with pytest.raises(ValueError, match=r"different lengths \[3, 2\]"):
        ArrayDataset(numpy.zeros(3), numpy.zeros(2))
