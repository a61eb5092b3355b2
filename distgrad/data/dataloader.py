"""``DataLoader``: PyTorch's arguments, batches gathered with one fancy index where the data set
allows it, and an epoch counter that makes a run resumable mid-epoch."""
import itertools

import numpy

from distgrad.autograd import Tensor
from distgrad.backend import parse_device, to_device
from distgrad.data._prefetch import prefetched
from distgrad.data.collate import _batch_tensors, _is_namedtuple, default_collate, default_convert
from distgrad.data.sampler import BatchSampler, RandomSampler, SequentialSampler, _EpochSampler


def _check_arguments(batch_size, shuffle, sampler, batch_sampler, drop_last, num_workers,
                     timeout, prefetch_factor, persistent_workers, multiprocessing_context, seed):
    if num_workers < 0:
        raise ValueError(f"DataLoader(num_workers={num_workers}): num_workers should be "
                         "non-negative; use num_workers=0 to load in the main thread")
    if timeout < 0:
        raise ValueError(f"DataLoader(timeout={timeout}): timeout option should be non-negative")
    if num_workers == 0:
        for name, value in (("prefetch_factor", prefetch_factor),
                            ("multiprocessing_context", multiprocessing_context)):
            if value is not None:
                raise ValueError(f"DataLoader({name}={value!r}) needs num_workers > 0; set "
                                 f"num_workers, or leave {name} at None")
        if persistent_workers:
            raise ValueError("DataLoader(persistent_workers=True): persistent_workers option "
                             "needs num_workers > 0")
    elif prefetch_factor is not None and prefetch_factor < 1:
        raise ValueError(f"DataLoader(prefetch_factor={prefetch_factor}): expected a positive "
                         "number of batches per worker")
    if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None
                                      or drop_last):
        raise ValueError("DataLoader: batch_sampler option is mutually exclusive with "
                         "batch_size, shuffle, sampler, and drop_last (the batch sampler decides "
                         "them)")
    if batch_size is None and drop_last:
        raise ValueError("DataLoader(batch_size=None) disables automatic batching and is "
                         "mutually exclusive with drop_last")
    if sampler is not None and shuffle:
        raise ValueError("DataLoader(shuffle=True) cannot be combined with sampler=... (sampler "
                         "option is mutually exclusive with shuffle); shuffle in the sampler "
                         "(e.g. DistributedSampler(shuffle=True))")
    if sampler is not None and seed is not None:
        raise ValueError("DataLoader(seed=...) seeds shuffle=True; with sampler=..., set the "
                         "sampler's seed instead (e.g. DistributedSampler(seed=...))")


class DataLoader:
    """Iterate over ``dataset`` in batches of Tensors, with PyTorch's arguments.

    Args:
        batch_size: samples per batch; the last batch is smaller unless ``drop_last``. None
            yields single samples (no batching; ``collate_fn`` defaults to ``default_convert``).
        shuffle: a new order each epoch (a ``RandomSampler``); exclusive with ``sampler``.
        sampler: a ``Sampler`` (e.g. ``DistributedSampler``) or iterable of indices deciding the
            order instead.
        batch_sampler: yields lists of indices, one per batch; exclusive with ``batch_size``,
            ``shuffle``, ``sampler`` and ``drop_last``.
        num_workers: 0 loads batches when asked for them; more than 0 loads them in one
            background thread (not processes: the gather is one NumPy call per batch, and
            threads need no pickling), up to ``num_workers * prefetch_factor`` batches ahead.
        collate_fn: merges the list of a batch's samples; the default, ``default_collate``,
            stacks them, and for data sets holding whole arrays (``ArrayDataset``,
            ``TensorDataset``, ``MNIST``, their ``Subset``s) a batch is gathered with one index
            instead, with the same result. A ``collate_fn`` of your own is called on the list of
            samples (``dataset.__getitems__(indices)`` when the data set has it) and its result
            is yielded as it is.
        pin_memory, pin_memory_device: accepted; no effect (``device=`` copies batches to a GPU).
        drop_last: drop the last, incomplete batch.
        timeout: with ``num_workers > 0``, seconds to wait for a batch before raising
            ``RuntimeError`` (0: wait for ever).
        worker_init_fn: with ``num_workers > 0``, called as ``worker_init_fn(worker_id)`` for each
            id in ``range(num_workers)`` in the loading thread before its first batch: at each
            ``iter()``, or once with ``persistent_workers=True``.
        multiprocessing_context: accepted with ``num_workers > 0``; no effect (a thread loads).
        generator: a ``distgrad.Generator`` that ``shuffle=True`` draws its seed from; unused
            with ``sampler=``.
        prefetch_factor: batches loaded ahead per worker (default 2 when ``num_workers > 0``).
        persistent_workers: keep the workers (here: ``worker_init_fn``'s effects) across epochs.
        in_order: accepted; batches always come in order.
        seed: (distgrad) the seed of ``shuffle=True`` instead of a ``generator``; None draws one
            from the generator, or from distgrad's default one (so ``distgrad.manual_seed`` makes
            the order reproducible). Epoch e's order depends only on (seed, e).
        device: (distgrad) where batches' Tensors go (``"cpu"``, ``"cuda:0"``); None leaves them
            where the data is.
        prefetch: (distgrad) load one batch ahead in a background thread, as ``num_workers=1``.

    Each ``iter()`` is a new epoch. Its order depends only on the epoch it is: the one set with
    ``sampler.set_epoch(e)`` before ``iter()`` (PyTorch's idiom), else the one after the previous
    pass (``DataLoader`` keeps distgrad's own samplers' epochs in step with its passes, so a loop
    that never calls ``set_epoch`` still reshuffles). ``state_dict()`` records the epoch and the
    batches already yielded; after ``load_state_dict`` the next ``iter()`` yields exactly the rest
    of that epoch.

    >>> from distgrad.data import ArrayDataset
    >>> loader = DataLoader(ArrayDataset(numpy.ones((10, 2)), numpy.arange(10)), batch_size=4)
    >>> [y.tolist() for x, y in loader]
    [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="",
                 in_order=True, seed=None, device=None, prefetch=False):
        _check_arguments(batch_size, shuffle, sampler, batch_sampler, drop_last, num_workers,
                         timeout, prefetch_factor, persistent_workers, multiprocessing_context,
                         seed)
        if sampler is None:
            sampler = (RandomSampler(dataset, generator=generator, seed=seed) if shuffle
                       else SequentialSampler(dataset))
        # Batches are cut from the sampler's whole epoch at once unless the caller brought a
        # batch sampler; loader.batch_sampler is there for code that reads it.
        self._slices = batch_sampler is None and batch_size is not None
        if self._slices:
            batch_sampler = BatchSampler(sampler, batch_size, bool(drop_last))
        elif batch_sampler is not None:
            batch_size, drop_last = None, False
        self.dataset, self.sampler, self.batch_sampler = dataset, sampler, batch_sampler
        self.batch_size, self.drop_last = batch_size, bool(drop_last)
        if collate_fn is None:
            collate_fn = default_collate if batch_sampler is not None else default_convert
        self.collate_fn = collate_fn
        self.num_workers, self.timeout = int(num_workers), timeout
        self.prefetch_factor = 2 if num_workers > 0 and prefetch_factor is None else prefetch_factor
        self.persistent_workers, self.worker_init_fn = bool(persistent_workers), worker_init_fn
        self.multiprocessing_context, self.generator = multiprocessing_context, generator
        self.pin_memory, self.pin_memory_device = bool(pin_memory), pin_memory_device
        self.in_order = in_order
        self.device = None if device is None else parse_device(device)
        self.prefetch = bool(prefetch) or self.num_workers > 0
        self._workers_started = False
        self._epoch, self._position = 0, 0
        self._in_pass = self._resumed = False
        self._calls_seen = 0  # so a sampler.set_epoch(e) made before this loader existed counts

    @property
    def epoch(self):
        """The epoch the current (or next) pass belongs to."""
        return self._epoch

    @property
    def seed(self):
        """The shuffle seed of the sampler (None for an unshuffled loader)."""
        return getattr(self._epoch_sampler() or self.sampler, "seed", None)

    def _epoch_sampler(self):
        """The distgrad sampler whose epoch this loader keeps in step with its passes, if any."""
        sampler = self.sampler if self._slices or self.batch_sampler is None else \
            getattr(self.batch_sampler, "sampler", None)
        return sampler if isinstance(sampler, _EpochSampler) else None

    def _num_batches(self, num_samples):
        if self.drop_last:
            return num_samples // self.batch_size
        return -(-num_samples // self.batch_size)

    def __len__(self):
        if self._slices:
            return self._num_batches(len(self.sampler))
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)

    def set_epoch(self, epoch):
        """Make the next ``iter()`` start epoch ``epoch`` from its first batch."""
        self._epoch, self._position = int(epoch), 0
        self._in_pass = self._resumed = False
        self._sync_sampler()

    def _sync_sampler(self):
        sampler = self._epoch_sampler()
        if sampler is not None:
            sampler.set_epoch(self._epoch)
            self._calls_seen = sampler._epoch_calls

    def _caller_set_epoch(self):
        """True when someone other than this loader ran sampler.set_epoch since it last did."""
        sampler = self._epoch_sampler()
        return sampler is not None and sampler._epoch_calls != self._calls_seen

    def _begin_pass(self):
        sampler = self._epoch_sampler()
        if self._caller_set_epoch():
            # The caller ran sampler.set_epoch(e) (PyTorch's idiom): this pass is epoch e, from
            # its start, unless e is the epoch a restored state_dict stopped in the middle of.
            if not (self._resumed and sampler.epoch == self._epoch):
                self._epoch, self._position = sampler.epoch, 0
        elif self._in_pass and not self._resumed:
            # The previous pass was left early: a new iter() is a new epoch.
            self._epoch, self._position = self._epoch + 1, 0
        self._sync_sampler()
        self._in_pass, self._resumed = True, False

    def _order(self):
        if hasattr(self.sampler, "indices"):
            return numpy.asarray(self.sampler.indices(), dtype=numpy.int64)
        return numpy.fromiter(iter(self.sampler), dtype=numpy.int64)

    def _index_batches(self, start):
        """This pass's batches of indices from batch number ``start`` on."""
        if self._slices:
            order, size = self._order(), self.batch_size
            for b in range(start, self._num_batches(len(order))):
                yield order[b * size:(b + 1) * size]
        else:
            source = self.sampler if self.batch_sampler is None else self.batch_sampler
            yield from itertools.islice(source, start, None)

    def _fetch(self, indices):
        if self.batch_sampler is None:  # batch_size=None: one sample at a time
            return self.collate_fn(self.dataset[indices])
        if self.collate_fn is default_collate:
            arrays = getattr(self.dataset, "arrays", None)
            if arrays is not None:
                index = numpy.asarray(indices, dtype=numpy.int64)
                return [Tensor(a[index]) for a in arrays]
            if getattr(self.dataset, "supports_index_arrays", False):
                return _batch_tensors(self.dataset[numpy.asarray(indices, dtype=numpy.int64)])
        indices = indices.tolist() if isinstance(indices, numpy.ndarray) else list(indices)
        getitems = getattr(self.dataset, "__getitems__", None)
        samples = getitems(indices) if callable(getitems) else [self.dataset[i] for i in indices]
        return self.collate_fn(samples)

    def _to_device(self, batch):
        if isinstance(batch, Tensor):
            if batch.device == self.device:
                return batch
            return Tensor(to_device(batch.array, self.device))
        if isinstance(batch, list):
            return [self._to_device(b) for b in batch]
        if _is_namedtuple(batch):
            return type(batch)(*(self._to_device(b) for b in batch))
        if isinstance(batch, tuple):
            return tuple(self._to_device(b) for b in batch)
        if isinstance(batch, dict):
            return {k: self._to_device(v) for k, v in batch.items()}
        return batch

    def _batches(self, start):
        for indices in self._index_batches(start):
            batch = self._fetch(indices)
            yield batch if self.device is None else self._to_device(batch)

    def _start_workers(self):
        if self.worker_init_fn is None or (self.persistent_workers and self._workers_started):
            return
        self._workers_started = True
        for worker_id in range(self.num_workers):
            self.worker_init_fn(worker_id)

    def _deliver(self, source):
        try:
            for batch in source:
                self._position += 1
                yield batch
        finally:
            source.close()
        self._in_pass = False
        self._epoch, self._position = self._epoch + 1, 0
        if not self._caller_set_epoch():  # a set_epoch(e) made during the pass decides the next
            self._sync_sampler()

    def __iter__(self):
        self._begin_pass()
        source = self._batches(self._position)
        if self.prefetch:
            depth = self.num_workers * self.prefetch_factor if self.num_workers else 1
            source = prefetched(source, depth, self.timeout,
                                self._start_workers if self.num_workers else None)
        return self._deliver(source)

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
        sampler = self._epoch_sampler() or self.sampler
        if state.get("seed") is not None and hasattr(sampler, "seed"):
            sampler.seed = int(state["seed"])
        self._epoch, self._position = int(state["epoch"]), position
        self._in_pass, self._resumed = True, True
        self._sync_sampler()
