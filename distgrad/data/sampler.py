"""Samplers: which sample indices a process visits, in which order, epoch after epoch.

Each sampler can hand its whole epoch over as one int64 array (``indices()``), which is what
``DataLoader`` uses; iterating yields the same indices as Python ints, as PyTorch's samplers do.
"""
import numpy

from distgrad.generator import _numpy_rng


class Sampler:
    """Base class: subclasses define ``indices()``, this epoch's indices as an int64 array."""

    def __iter__(self):
        return iter(self.indices().tolist())

    def __len__(self):
        return len(self.indices())


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def indices(self):
        """``arange(len(data_source))``."""
        return numpy.arange(len(self.data_source), dtype=numpy.int64)

    def __len__(self):
        return len(self.data_source)


def _permutation(n, seed, epoch):
    # seed + epoch, as PyTorch's DistributedSampler does: DataLoader(shuffle=True, seed=s) on one
    # process then visits exactly the samples that DistributedSampler(seed=s) spreads over ranks,
    # so N-rank training can be compared with one process on the global batch.
    return numpy.random.default_rng(seed + epoch).permutation(n).astype(numpy.int64)


class _EpochSampler(Sampler):
    """A sampler whose order is a function of ``(seed, epoch)``, ``epoch`` set by ``set_epoch``."""

    epoch = 0
    # How many times set_epoch ran: DataLoader tells a caller's sampler.set_epoch(e) from its
    # own calls by this count, even when e equals the current epoch.
    _epoch_calls = 0

    def set_epoch(self, epoch):
        """Use the order of ``epoch`` from the next ``iter()`` on."""
        self.epoch = int(epoch)
        self._epoch_calls += 1


class RandomSampler(_EpochSampler):
    """A fresh random order each epoch, a function of ``(seed, epoch)`` only (so resumable).

    Args:
        replacement: draw ``num_samples`` indices with replacement instead of permuting.
        num_samples: how many indices an epoch has (default ``len(data_source)``); without
            replacement, more than ``len(data_source)`` repeats whole permutations.
        generator: a ``distgrad.Generator`` the seed is drawn from (once, here); None draws it
            from distgrad's default generator, so ``distgrad.manual_seed`` makes it reproducible.
        seed: the seed itself, instead of drawing one.

    Each ``iter()`` of a ``DataLoader`` is a new epoch (PyTorch draws a new order from the
    generator each time; here epoch e's order is drawn from ``seed + e``).
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None, *,
                 seed=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got "
                            f"replacement={replacement!r}")
        if num_samples is not None and (isinstance(num_samples, bool)
                                        or not isinstance(num_samples, int) or num_samples <= 0):
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples!r}")
        if seed is not None and generator is not None:
            raise ValueError("RandomSampler(seed=..., generator=...): give one of them; the seed "
                             "is drawn from the generator")
        self.data_source, self.replacement = data_source, replacement
        self._num_samples, self.generator = num_samples, generator
        if seed is None:
            seed = int(_numpy_rng(generator, "RandomSampler").integers(2 ** 31))
        self.seed = int(seed)

    @property
    def num_samples(self):
        """Indices per epoch."""
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def indices(self):
        """This epoch's indices."""
        n, count = len(self.data_source), self.num_samples
        if self.replacement:
            rng = numpy.random.default_rng(self.seed + self.epoch)
            return rng.integers(n, size=count, dtype=numpy.int64)
        order = _permutation(n, self.seed, self.epoch)
        if count <= n:
            return order[:count]
        rng = numpy.random.default_rng([self.seed + self.epoch, 1])
        extra = [rng.permutation(n) for _ in range(-(-count // n) - 1)]
        return numpy.concatenate([order] + extra).astype(numpy.int64)[:count]

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Group the indices of ``sampler`` into lists of ``batch_size`` (the last shorter unless
    ``drop_last``).

    >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
    [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler, batch_size, drop_last):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size!r}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got "
                             f"drop_last={drop_last!r}")
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self):
        batch = []
        for index in self.sampler:
            batch.append(int(index))
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return -(-len(self.sampler) // self.batch_size)


def _replicas_and_rank(num_replicas, rank, who):
    # Imported here, not at the top: distributed builds on the layers data belongs to.
    from distgrad import distributed as dist
    if not dist.is_initialized():
        dist = None
    if num_replicas is None:
        num_replicas = dist.get_world_size() if dist is not None else 1
    if rank is None:
        rank = dist.get_rank() if dist is not None else 0
    num_replicas, rank = int(num_replicas), int(rank)
    if num_replicas < 1 or not 0 <= rank < num_replicas:
        raise ValueError(f"{who}(num_replicas={num_replicas}, rank={rank}): expected "
                         "num_replicas >= 1 and 0 <= rank < num_replicas")
    return num_replicas, rank


class DistributedSampler(_EpochSampler):
    """This rank's share of a permutation that every rank computes identically (training).

    For a given ``(seed, epoch)`` all ranks draw the same permutation, pad it by wrapping around
    (``drop_last=False``) or cut it (``drop_last=True``) to a multiple of ``num_replicas``, and
    rank r takes every ``num_replicas``-th index starting at r. Shards are disjoint (up to the
    padding), cover the data set, and have the same length on every rank, so every rank runs the
    same number of steps. An epoch's order depends only on the epoch set when ``iter()`` is
    called: call ``set_epoch(epoch)`` before each epoch, as in PyTorch (a ``DataLoader`` that
    finishes a pass without one moves the sampler on to the next epoch itself).

    ``num_replicas``/``rank`` default to the initialised ``distgrad.distributed`` process group's,
    else 1 and 0.

    >>> DistributedSampler(range(10), num_replicas=3, rank=0, shuffle=False).indices()
    array([0, 3, 6, 9])
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
                 drop_last=False):
        self.dataset = dataset
        self.num_replicas, self.rank = _replicas_and_rank(num_replicas, rank, "DistributedSampler")
        self.shuffle, self.seed, self.drop_last = bool(shuffle), int(seed), bool(drop_last)
        n = len(dataset)
        self.num_samples = n // self.num_replicas if drop_last else -(-n // self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def indices(self):
        """This rank's ``num_samples`` indices for the current epoch."""
        n = len(self.dataset)
        if self.shuffle:
            order = _permutation(n, self.seed, self.epoch)
        else:
            order = numpy.arange(n, dtype=numpy.int64)
        if self.total_size > n:
            order = numpy.resize(order, self.total_size)  # repeats from the start: wrap-around
        else:
            order = order[:self.total_size]
        return order[self.rank::self.num_replicas]

    def __len__(self):
        return self.num_samples


def shard_indices(n, num_replicas, rank):
    """Rank ``rank``'s contiguous block of ``range(n)`` split into ``num_replicas`` blocks.

    Blocks differ in length by at most one (the first ``n % num_replicas`` are longer) and
    together hold every index exactly once.

    >>> shard_indices(10, 3, 0), shard_indices(10, 3, 2)
    (array([0, 1, 2, 3]), array([7, 8, 9]))
    """
    num_replicas, rank = _replicas_and_rank(num_replicas, rank, "shard_indices")
    base, extra = divmod(int(n), num_replicas)
    start = rank * base + min(rank, extra)
    stop = start + base + (rank < extra)
    return numpy.arange(start, stop, dtype=numpy.int64)


class DistributedEvalSampler(Sampler):
    """This rank's contiguous block of the data set, in order, for evaluation.

    Unlike ``DistributedSampler`` there is no padding: every sample is evaluated exactly once
    across ranks, so summing correct counts (and sample counts) with an all-reduce gives exactly
    the one-process accuracy. The price: ranks may get different numbers of samples and hence do
    different numbers of eval batches, so evaluation must not run a collective per batch — sum
    locally, then all-reduce once after the loop.
    """

    def __init__(self, dataset, num_replicas=None, rank=None):
        self.dataset = dataset
        self.num_replicas, self.rank = _replicas_and_rank(num_replicas, rank,
                                                          "DistributedEvalSampler")

    def indices(self):
        """This rank's block (see ``shard_indices``)."""
        return shard_indices(len(self.dataset), self.num_replicas, self.rank)

    def __len__(self):
        return len(self.indices())
