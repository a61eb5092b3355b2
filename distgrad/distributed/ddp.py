"""``DistributedDataParallel``: a module wrapper whose backward averages gradients over ranks.

Construction checks that every rank built the same model (one ``allgather_obj``) and copies
rank 0's parameters and buffers to all; forward is the module's forward (plus rank 0's
buffers first); the ``Reducer`` does the rest from gradient-ready hooks.
"""
import contextlib

from ..autograd.grad_mode import is_grad_enabled
from ..backend import get_array_module
from ..nn import Module
from . import process_group as _pg
from .reducer import Reducer
from .timeline import COMPUTE

_CHECK_FINITE = {False: False, None: False, True: "raise", "raise": "raise", "skip": "skip"}


def _describe(entry):
    if entry is None:
        return "nothing there"
    kind, name, shape, dtype = entry
    return f"{kind} {name!r} with shape {tuple(shape)} and dtype {dtype}"


def verify_same_model(comm, signature):
    """Raise the same ValueError on every rank unless all ranks have the same ``signature``.

    ``signature`` is a list of ``(kind, name, shape, dtype)``; one ``allgather_obj`` compares
    them, so a mismatch is an error everywhere rather than a hang in a later collective.
    """
    everyone = comm.allgather_obj(signature)
    reference = everyone[0]
    differing = [r for r, sig in enumerate(everyone) if sig != reference]
    if not differing:
        return
    r = differing[0]
    other = everyone[r]
    k = next(i for i in range(max(len(reference), len(other)))
             if i >= len(reference) or i >= len(other) or reference[i] != other[i])
    mine = _describe(reference[k] if k < len(reference) else None)
    theirs = _describe(other[k] if k < len(other) else None)
    raise ValueError(
        f"DistributedDataParallel: the model differs between ranks {[0] + differing}: at "
        f"position {k} of the parameters and buffers, rank 0 has {mine} but rank {r} has "
        f"{theirs} (rank 0 has {len(reference)} entries, rank {r} has {len(other)}). Build "
        "the same model with the same arguments on every rank before wrapping it")


def broadcast_arrays(comm, arrays, root=0):
    """Overwrite ``arrays`` with ``root``'s values: one ``bcast`` per dtype, packed flat."""
    groups = {}
    for array in arrays:
        groups.setdefault(array.dtype.str, []).append(array)
    for group in groups.values():
        xp = get_array_module(group[0])
        flat = xp.concatenate([a.reshape(-1) for a in group])
        comm.bcast(flat, root=root)
        if comm.rank != root:
            offset = 0
            for a in group:
                a[...] = flat[offset:offset + a.size].reshape(a.shape)
                offset += a.size


class DistributedDataParallel(Module):
    """Data-parallel training: after ``loss.backward()`` every ``.grad`` is the average over ranks.

    Args:
        module: the model (identical on every rank; rank 0's values win at construction).
        bucket_cap_mb: gradient bucket size; the first bucket is at most 1 MiB.
        broadcast_buffers: copy rank 0's buffers (e.g. BatchNorm statistics) at each forward.
        find_unused_parameters: average parameters that got no gradient as zeros instead of
            raising (needed when some parameters are not used in every step).
        gradient_as_bucket_view: make each ``.grad`` a view into its bucket (no copies).
        check_finite: ``"raise"`` (or True): FloatingPointError on every rank when any rank
            has a NaN/inf gradient; ``"skip"``: set ``last_step_finite`` instead, so the loop
            can skip ``optimizer.step()``; False: no check.
        timeline: a ``Timeline`` recording forward, backward and each bucket's all-reduce.
        process_group: a communicator; default: the one from ``init_process_group``.
        first_bucket_mb: cap of the first bucket (launched first, so kept small).
        device_ids, output_device: accepted for PyTorch code; each rank drives one device
            (the one ``init_process_group`` bound), so at most one id may be given.

    >>> dist.init_process_group()                                   # doctest: +SKIP
    >>> model = DistributedDataParallel(net)                        # doctest: +SKIP
    >>> loss = F.cross_entropy(model(x), y); loss.backward()        # doctest: +SKIP
    >>> optimizer.step()                                            # doctest: +SKIP
    """

    def __init__(self, module, bucket_cap_mb=25, broadcast_buffers=True,
                 find_unused_parameters=False, gradient_as_bucket_view=True, check_finite=False,
                 timeline=None, process_group=None, first_bucket_mb=1.0, device_ids=None,
                 output_device=None):
        super().__init__()
        # One device per process: PyTorch's device_ids/output_device may name only that one.
        if device_ids is not None and len(device_ids) > 1:
            raise ValueError(f"device_ids={device_ids}: distgrad runs one device per process; "
                             "start one rank per GPU instead (launch/mpirun.sh --gpus)")
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel wraps a distgrad.nn.Module, got "
                            f"{type(module).__name__}")
        if not bucket_cap_mb > 0:
            raise ValueError(f"bucket_cap_mb={bucket_cap_mb} must be positive")
        if check_finite not in _CHECK_FINITE:
            raise ValueError(f"check_finite={check_finite!r}: expected False, True, 'raise' "
                             "or 'skip'")
        comm = process_group if process_group is not None else _default_group()
        self.module = module
        self.process_group = comm
        self.broadcast_buffers = broadcast_buffers
        self.timeline = timeline
        self._require_sync = True
        watchdog = _pg.get_watchdog()
        self._watchdog = watchdog

        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        self._buffer_tensors = [b for _, b in module.named_buffers() if b is not None]
        signature = [("parameter", n, tuple(p.shape), str(p.dtype)) for n, p in named]
        signature += [("buffer", n, tuple(b.shape), str(b.dtype))
                      for n, b in module.named_buffers() if b is not None]
        if comm.size > 1:
            with self._watch("allgather_obj of parameter names/shapes at DDP construction"):
                verify_same_model(comm, signature)
            with self._watch("Bcast of rank 0's parameters and buffers at DDP construction"):
                broadcast_arrays(comm, [p.array for _, p in module.named_parameters()] +
                                 [b.array for b in self._buffer_tensors])
        if timeline is not None:
            timeline.attach(comm)
        self.reducer = Reducer(named, comm, bucket_cap_mb=bucket_cap_mb,
                               gradient_as_bucket_view=gradient_as_bucket_view,
                               find_unused_parameters=find_unused_parameters,
                               check_finite=_CHECK_FINITE[check_finite], timeline=timeline,
                               watchdog=watchdog, first_bucket_mb=first_bucket_mb)

    @contextlib.contextmanager
    def _watch(self, what):
        token = self._watchdog.begin(what) if self._watchdog is not None else None
        try:
            yield
        finally:
            if token is not None:
                self._watchdog.end(token)

    def forward(self, *args, **kwargs):
        """Run the wrapped module (after taking rank 0's buffers when ``broadcast_buffers``)."""
        if self.broadcast_buffers and self._buffer_tensors and self.process_group.size > 1:
            with self._watch(f"Bcast of buffers in forward before DDP step {self.reducer.step}"):
                broadcast_arrays(self.process_group, [b.array for b in self._buffer_tensors])
        if is_grad_enabled():
            if self._require_sync:
                self.reducer.prepare_for_backward()
            else:
                self.reducer.disarm()
        if self.timeline is None:
            return self.module(*args, **kwargs)
        with self.timeline.span("forward", COMPUTE, step=self.reducer.step):
            return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Context manager for gradient accumulation: forward+backward inside it do not
        communicate; gradients add up locally and the first backward after it averages the sum.

        >>> with ddp.no_sync():                                      # doctest: +SKIP
        ...     loss_fn(ddp(x1), y1).backward()
        >>> loss_fn(ddp(x2), y2).backward()    # averages the sum of both micro-batches
        """
        previous = self._require_sync
        self._require_sync = False
        try:
            yield
        finally:
            self._require_sync = previous

    def register_comm_hook(self, state, hook=None):
        """Reduce each bucket with ``hook(state, bucket)`` (see ``comm_hooks``), e.g.
        ``ddp.register_comm_hook(None, fp16_compress_hook)`` as in PyTorch, or
        ``ddp.register_comm_hook(fp16_compress_hook)`` when the hook needs no state.
        Call before the first backward."""
        if hook is None and callable(state):
            state, hook = None, state
        self.reducer.register_comm_hook(state, hook)

    @property
    def last_step_finite(self):
        """False when the last synchronised backward saw a NaN/inf gradient on any rank."""
        return self.reducer.last_step_finite

    @property
    def stats(self):
        """``CommStats`` of the last synchronised step (bytes, times) and totals."""
        return self.reducer.stats

    @property
    def buckets(self):
        """The gradient buckets, in launch order."""
        return self.reducer.buckets


def _default_group():
    if not _pg.is_initialized():
        raise RuntimeError("DistributedDataParallel needs a process group: call "
                           "distgrad.distributed.init_process_group() first (it works without "
                           "MPI too), or pass process_group=")
    return _pg.get_default_group()


DDP = DistributedDataParallel
