"""Dataset, ArrayDataset and DataLoader: batches gathered with one fancy index each.

A loader keeps an epoch counter and its position within the epoch, so a training run can be
checkpointed mid-epoch and resumed to see exactly the batches it had not seen yet.
"""
import queue
import threading

import numpy

from distgrad.autograd.tensor import Tensor
from distgrad.backend import get_default_dtype, parse_device, to_device
from distgrad.data.sampler import RandomSampler, SequentialSampler


class Dataset:
    """A map-style data set: ``__len__`` and ``__getitem__(i)`` returning one sample.

    Subclasses whose ``__getitem__`` also accepts an int64 index array (returning the batch)
    set ``supports_index_arrays = True``; ``DataLoader`` then fetches a batch with one call
    instead of one call per sample.
    """

    supports_index_arrays = False


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


def _stack(samples):
    """Collate samples as PyTorch's default does: tuples field by field, dicts key by key,
    Python floats as the default float dtype."""
    first = samples[0]
    if isinstance(first, dict):
        return {key: _stack([s[key] for s in samples]) for key in first}
    if isinstance(first, (tuple, list)):
        return tuple(_stack(list(field)) for field in zip(*samples))
    array = numpy.asarray(samples)
    if array.dtype == numpy.float64 and isinstance(first, float):
        array = array.astype(get_default_dtype())
    return array


def _put(q, item, stop):
    """Put ``item`` unless ``stop`` is set first; True when it was put."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            pass
    return False


def _prefetched(batches):
    """Yield from ``batches`` while a thread already computes the next one (a queue of one).

    An exception in the thread is raised here; leaving the loop early (``break``, an error in the
    loop body) stops and joins the thread before this generator closes.
    """
    q, stop = queue.Queue(maxsize=1), threading.Event()

    def produce():
        try:
            for batch in batches:
                if not _put(q, ("batch", batch), stop):
                    return
            _put(q, ("done", None), stop)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            _put(q, ("error", exc), stop)

    thread = threading.Thread(target=produce, name="distgrad-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = q.get()
            if kind == "done":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        while True:  # unblock a producer waiting in put() so that join() returns promptly
            try:
                q.get_nowait()
            except queue.Empty:
                break
        thread.join()


class DataLoader:
    """Iterate over ``dataset`` in batches: tuples of Tensors (without grad) on ``device``.

    Args:
        batch_size: samples per batch; the last batch is smaller unless ``drop_last``.
        shuffle: a new permutation each epoch (a ``RandomSampler`` seeded with ``seed``);
            exclusive with ``sampler``.
        sampler: a ``Sampler`` (e.g. ``DistributedSampler``) deciding the order instead.
        seed: the seed of ``shuffle=True``; None draws one from
            ``distgrad.backend.default_generator``, so ``distgrad.manual_seed`` makes the order
            reproducible. The order of epoch e depends
            only on (seed, e).
        device: where batches go (``"cpu"``, ``"cuda:0"``); None leaves them where the data is.
        prefetch: compute the next batch in a background thread while the current one is used.

    Each ``iter()`` starts a new epoch (calling ``sampler.set_epoch`` for samplers that have it;
    a caller's own ``sampler.set_epoch(e)`` is followed). ``state_dict()`` records the epoch and
    the batches already yielded; after ``load_state_dict`` the next ``iter()`` yields exactly the
    rest of that epoch.

    >>> loader = DataLoader(ArrayDataset(numpy.ones((10, 2)), numpy.arange(10)), batch_size=4)
    >>> [y.tolist() for x, y in loader]
    [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None, drop_last=False,
                 seed=None, device=None, prefetch=False):
        if int(batch_size) < 1:
            raise ValueError(f"DataLoader(batch_size={batch_size}): expected a positive integer")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader(shuffle=True) cannot be combined with sampler=...; "
                             "shuffle in the sampler (e.g. DistributedSampler(shuffle=True))")
        if sampler is not None and seed is not None:
            raise ValueError("DataLoader(seed=...) seeds shuffle=True; with sampler=..., set the "
                             "sampler's seed instead (e.g. DistributedSampler(seed=...))")
        if sampler is None:
            sampler = RandomSampler(dataset, seed) if shuffle else SequentialSampler(dataset)
        self.dataset, self.sampler = dataset, sampler
        self.batch_size, self.drop_last = int(batch_size), bool(drop_last)
        self.device = None if device is None else parse_device(device)
        self.prefetch = bool(prefetch)
        self._epoch, self._position = 0, 0
        self._in_pass = self._resumed = False

    @property
    def epoch(self):
        """The epoch the current (or next) pass belongs to."""
        return self._epoch

    @property
    def seed(self):
        """The sampler's shuffle seed (None for an unshuffled loader)."""
        return getattr(self.sampler, "seed", None)

    def _num_batches(self, num_samples):
        if self.drop_last:
            return num_samples // self.batch_size
        return -(-num_samples // self.batch_size)

    def __len__(self):
        return self._num_batches(len(self.sampler))

    def set_epoch(self, epoch):
        """Make the next ``iter()`` start epoch ``epoch`` from its first batch."""
        self._epoch, self._position = int(epoch), 0
        self._in_pass = self._resumed = False
        self._sync_sampler()

    def _sync_sampler(self):
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(self._epoch)

    def _begin_pass(self):
        sampler_epoch = getattr(self.sampler, "epoch", None)
        if sampler_epoch is not None and sampler_epoch != self._epoch:
            # The caller ran sampler.set_epoch(e) (PyTorch's idiom): follow it.
            self._epoch, self._position = sampler_epoch, 0
        elif self._in_pass and not self._resumed:
            # The previous pass was left early: a new iter() is a new epoch.
            self._epoch, self._position = self._epoch + 1, 0
        self._sync_sampler()
        self._in_pass, self._resumed = True, False

    def _order(self):
        if hasattr(self.sampler, "indices"):
            return numpy.asarray(self.sampler.indices(), dtype=numpy.int64)
        return numpy.fromiter(iter(self.sampler), dtype=numpy.int64)

    def _fetch(self, index):
        arrays = getattr(self.dataset, "arrays", None)
        if arrays is not None:
            batch = tuple(a[index] for a in arrays)
        elif getattr(self.dataset, "supports_index_arrays", False):
            batch = self.dataset[index]
        else:
            batch = _stack([self.dataset[i] for i in index.tolist()])
        # Tensors, as PyTorch's loader yields, so batches go straight into models and losses.
        return self._tensors(batch)

    def _tensors(self, batch):
        if isinstance(batch, tuple):
            return tuple(self._tensors(a) for a in batch)
        if isinstance(batch, dict):
            return {k: self._tensors(v) for k, v in batch.items()}
        return self._tensor(batch)

    def _tensor(self, array):
        return Tensor(array if self.device is None else to_device(array, self.device))

    def _batches(self, order, start, stop):
        for b in range(start, stop):
            yield self._fetch(order[b * self.batch_size:(b + 1) * self.batch_size])

    def _deliver(self, source):
        try:
            for batch in source:
                self._position += 1
                yield batch
        finally:
            source.close()
        self._in_pass = False
        self._epoch, self._position = self._epoch + 1, 0
        self._sync_sampler()

    def __iter__(self):
        self._begin_pass()
        order = self._order()
        source = self._batches(order, self._position, self._num_batches(len(order)))
        return self._deliver(_prefetched(source) if self.prefetch else source)

    def state_dict(self):
        """Where the loader is: epoch, batches already yielded in it, seed (JSON-compatible)."""
        return {"epoch": self._epoch, "batches_yielded": self._position, "seed": self.seed,
                "batch_size": self.batch_size, "num_samples": len(self.sampler)}

    def load_state_dict(self, state):
        """Resume from ``state_dict()``: the next ``iter()`` yields the rest of that epoch.

        The sampler adopts the saved seed, so the order is the one the saved run used.
        """
        for key in ("batch_size", "num_samples"):
            ours = self.batch_size if key == "batch_size" else len(self.sampler)
            if state.get(key, ours) != ours:
                raise ValueError(f"DataLoader.load_state_dict: saved {key}={state[key]} but this "
                                 f"loader has {key}={ours}; resuming would visit different "
                                 "samples (use the same batch size, data set and number of ranks)")
        position = int(state["batches_yielded"])
        if not 0 <= position <= len(self):
            raise ValueError(f"DataLoader.load_state_dict: batches_yielded={position} is outside "
                             f"0..{len(self)}")
        if state.get("seed") is not None and hasattr(self.sampler, "seed"):
            self.sampler.seed = int(state["seed"])
        self._epoch, self._position = int(state["epoch"]), position
        self._in_pass, self._resumed = True, True
        self._sync_sampler()
