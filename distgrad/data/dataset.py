"""Map-style data sets and ways to combine them: ``Dataset``, ``ArrayDataset``, ``TensorDataset``,
``Subset``, ``ConcatDataset``, ``random_split`` (PyTorch's ``torch.utils.data`` names).

A data set that can also be indexed with an int64 array (returning the whole batch) says so with
``supports_index_arrays``; ``DataLoader`` then fetches a batch with one call. A data set whose
samples are rows of arrays exposes them as ``arrays`` and the loader gathers from those directly.
"""
import bisect
import itertools
import math
import warnings

import numpy

from distgrad.autograd import Tensor
from distgrad.generator import _numpy_rng


class Dataset:
    """A map-style data set: ``__len__`` and ``__getitem__(i)`` returning one sample.

    Subclasses whose ``__getitem__`` also accepts an int64 index array (returning the batch)
    set ``supports_index_arrays = True``; ``DataLoader`` then fetches a batch with one call
    instead of one call per sample. ``a + b`` is ``ConcatDataset([a, b])``.
    """

    supports_index_arrays = False

    def __add__(self, other):
        return ConcatDataset([self, other])


def _batchable(dataset):
    """True when ``dataset`` gives a whole batch for an index array (directly or via ``arrays``)."""
    return (getattr(dataset, "arrays", None) is not None
            or getattr(dataset, "supports_index_arrays", False))


class ArrayDataset(Dataset):
    """Samples are rows of arrays of equal length: ``ds[i] == (arrays[0][i], arrays[1][i], ...)``.

    ``ds[index_array]`` returns whole batches, and ``DataLoader`` gathers from ``.arrays`` directly.

    >>> ds = ArrayDataset(numpy.zeros((5, 3)), numpy.arange(5))
    >>> len(ds), ds[numpy.array([1, 4])][1]
    (5, array([1, 4]))
    """

    supports_index_arrays = True

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("ArrayDataset needs at least one array")
        lengths = [len(a) for a in arrays]
        if len(set(lengths)) != 1:
            raise ValueError(f"ArrayDataset got arrays of different lengths {lengths}; every "
                             "array needs one row per sample")
        self.arrays = tuple(arrays)

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)

    def __len__(self):
        return len(self.arrays[0])


class TensorDataset(Dataset):
    """Samples are rows of Tensors of equal length: ``ds[i] == (tensors[0][i], tensors[1][i])``.

    Items are tuples of Tensors, as in PyTorch; ``DataLoader`` gathers a whole batch from the
    tensors' arrays at once.

    >>> ds = TensorDataset(distgrad.zeros(5, 3), distgrad.arange(5))  # doctest: +SKIP
    >>> x, y = ds[4]; x.shape, y.item()                                # doctest: +SKIP
    ((3,), 4)
    """

    supports_index_arrays = True

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        self.tensors = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in tensors)
        sizes = [t.shape[0] if t.ndim else None for t in self.tensors]
        if None in sizes or len(set(sizes)) != 1:
            raise ValueError(f"TensorDataset: size mismatch between tensors (first dimensions "
                             f"{sizes}); every tensor needs one row per sample")

    @property
    def arrays(self):
        """The tensors' backend arrays (what ``DataLoader`` gathers batches from)."""
        return tuple(t.array for t in self.tensors)

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in order: ``Subset(ds, idx)[i] == ds[idx[i]]``.

    Stays as fast as ``dataset`` in ``DataLoader``: a batch of a batchable data set is still one
    gather.
    """

    def __init__(self, dataset, indices):
        self.dataset, self.indices = dataset, indices
        self._index = None

    @property
    def supports_index_arrays(self):
        """True when the underlying data set fetches whole batches."""
        return _batchable(self.dataset)

    def _index_array(self):
        if self._index is None or len(self._index) != len(self.indices):
            self._index = numpy.asarray(self.indices, dtype=numpy.int64).reshape(-1)
        return self._index

    def __getitem__(self, idx):
        if isinstance(idx, numpy.ndarray):
            index = self._index_array()[idx]
            arrays = getattr(self.dataset, "arrays", None)
            return tuple(a[index] for a in arrays) if arrays is not None else self.dataset[index]
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices):
        """The samples at ``indices`` as a list (what ``DataLoader`` asks for per batch)."""
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self):
        return len(self.indices)


class ConcatDataset(Dataset):
    """The samples of several data sets one after the other.

    Attributes: ``datasets`` (a list) and ``cumulative_sizes`` (the running total of lengths).
    """

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        if idx < 0:
            if -idx > len(self):
                raise ValueError(f"absolute value of index should not exceed dataset length "
                                 f"(got index {idx} for length {len(self)})")
            idx = len(self) + idx
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][idx - start]


def _split_lengths(n, lengths):
    """Integer lengths for ``lengths`` given as counts or as fractions summing to 1."""
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        for i, fraction in enumerate(lengths):
            if not 0 <= fraction <= 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1 (got {fraction})")
        counts = [int(math.floor(n * fraction)) for fraction in lengths]
        # The rounding remainder goes one sample at a time to the splits in turn, as in PyTorch.
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        for i, count in enumerate(counts):
            if count == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an "
                              "empty dataset.")
        return counts
    return [int(length) for length in lengths]


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` into non-overlapping ``Subset``s of the given lengths, at random.

    Args:
        lengths: sample counts summing to ``len(dataset)``, or fractions summing to 1 (the
            remainder of rounding down goes one sample each to the first splits).
        generator: a ``distgrad.Generator`` for a split of its own; None draws from distgrad's
            default generator, so ``distgrad.manual_seed`` makes the split reproducible.

    >>> g = distgrad.Generator().manual_seed(0)                            # doctest: +SKIP
    >>> train, val = random_split(range(10), [0.8, 0.2], generator=g)      # doctest: +SKIP
    >>> len(train), len(val)                                               # doctest: +SKIP
    (8, 2)
    """
    counts = _split_lengths(len(dataset), lengths)
    if sum(counts) != len(dataset):
        raise ValueError(f"Sum of input lengths ({sum(counts)}) does not equal the length of the "
                         f"input dataset ({len(dataset)})!")
    order = _numpy_rng(generator, "random_split").permutation(len(dataset)).tolist()
    ends = itertools.accumulate(counts)
    return [Subset(dataset, order[end - count:end]) for end, count in zip(ends, counts)]
