"""Horovod's PyTorch API on distgrad: ``import distgrad.horovod as hvd`` where a script has
``import horovod.torch as hvd``.

``hvd.init()`` is ``init_process_group()`` (MPI under mpiexec/horovodrun-style launchers, one
process otherwise). ``DistributedOptimizer`` averages gradients while backward runs, through
the same buckets and reducer as ``DistributedDataParallel`` (not a loop in ``step()``), so the
two give the same parameters step for step. The tensor collectives (``allreduce``,
``allgather``, ``broadcast``) are composed from the process group's.
"""
import contextlib

from . import distributed as dist
from .autograd import Tensor, queue_callback
from .backend import get_array_module, nccl
from .distributed import process_group as _pg
from .distributed.ddp import broadcast_arrays, verify_same_model
from .distributed.reducer import Reducer

# Reduction ops, under Horovod's names.
Average, Sum, Adasum, Min, Max, Product = "average", "sum", "adasum", "min", "max", "product"


class Compression:
    """Gradient compression for ``DistributedOptimizer``: ``Compression.none`` or
    ``Compression.fp16`` (half the bytes on the wire)."""

    class none:
        """Send gradients as they are."""
        wire_dtype = None

    class fp16:
        """Send float gradients as float16 and cast the result back."""
        wire_dtype = "float16"


# --- the process group ------------------------------------------------------------------------
def init(comm=None, process_sets=None):
    """Start Horovod: join the MPI job this process belongs to (once; later calls do nothing)."""
    if comm is not None or process_sets is not None:
        raise ValueError("hvd.init(comm=..., process_sets=...): distgrad has one process group, "
                         "all ranks of the MPI job; call hvd.init() without arguments")
    if not dist.is_initialized():
        dist.init_process_group()


def shutdown():
    """Leave the process group."""
    if dist.is_initialized():
        dist.destroy_process_group()


def is_initialized():
    """True after ``init()``."""
    return dist.is_initialized()


def _group():
    if not dist.is_initialized():
        raise ValueError("Horovod has not been initialized; use hvd.init().")
    return _pg.get_default_group()


def rank():
    """This process's rank."""
    return _group().rank


def size():
    """Number of processes."""
    return _group().size


def local_rank():
    """This process's rank on its node (which GPU to use)."""
    return _group().local_rank


def local_size():
    """Number of processes on this node."""
    return _group().local_size


def cross_size():
    """Number of nodes (assuming the same number of ranks on each)."""
    return size() // local_size()


def cross_rank():
    """This node's index (assuming the same number of ranks on each node)."""
    return rank() // local_size()


def mpi_enabled():
    """True: distgrad communicates over MPI."""
    return True


def mpi_built():
    """True: distgrad communicates over MPI."""
    return True


def gloo_enabled():
    """False: there is no Gloo in distgrad (``init_process_group('gloo')`` means MPI)."""
    return False


def gloo_built():
    """False: there is no Gloo in distgrad."""
    return False


def nccl_built():
    """True when CuPy's NCCL loads on this machine."""
    return nccl() is not None


def mpi_threads_supported():
    """True when the MPI library runs with MPI_THREAD_MULTIPLE (what distgrad asks for)."""
    from .distributed.communicators.mpi import thread_level
    return thread_level() == "MPI_THREAD_MULTIPLE"


# --- tensor collectives ---------------------------------------------------------------------
def _op(average, op, what):
    if average is not None and op is not None:
        raise ValueError(f"{what}: give average= or op=, not both")
    op = op if op is not None else (Sum if average is False else Average)
    if op == Adasum:
        raise ValueError(f"{what}(op=hvd.Adasum): Adasum is not supported by distgrad; use "
                         "hvd.Average or hvd.Sum")
    return op


def _array(tensor, what):
    if isinstance(tensor, Tensor):
        return tensor.array
    raise TypeError(f"hvd.{what} takes a distgrad Tensor, got {type(tensor).__name__}")


def allreduce_(tensor, average=None, name=None, op=None, prescale_factor=1.0,
               postscale_factor=1.0, process_set=None):
    """Reduce ``tensor`` over all ranks in place (average by default) and return it."""
    op = _op(average, op, "allreduce_")
    array = _array(tensor, "allreduce_")
    if prescale_factor != 1.0:
        array *= prescale_factor
    reduce_op = {Average: "sum", Sum: "sum", Min: "min", Max: "max", Product: "prod"}[op]
    _pg._watched(f"hvd.allreduce({name or ''})", _group().allreduce, array, reduce_op)
    scale = postscale_factor / size() if op == Average else postscale_factor
    if scale != 1.0:
        array *= array.dtype.type(scale) if array.dtype.kind == "f" else scale
    return tensor


def allreduce(tensor, average=None, name=None, compression=Compression.none, op=None,
              prescale_factor=1.0, postscale_factor=1.0, process_set=None):
    """A new Tensor: ``tensor`` reduced over all ranks (averaged by default)."""
    out = Tensor(_array(tensor, "allreduce").copy())
    return allreduce_(out, average, name, op, prescale_factor, postscale_factor)


def allgather(tensor, name=None, process_set=None):
    """Every rank's ``tensor`` concatenated along dimension 0 (the first dimension may differ
    between ranks)."""
    array = _array(tensor, "allgather")
    xp = get_array_module(array)
    lengths = _pg._watched("hvd.allgather sizes", _group().allgather_obj, array.shape[0])
    padded = xp.zeros((max(lengths),) + array.shape[1:], dtype=array.dtype)
    padded[:array.shape[0]] = array
    rows = [Tensor(xp.empty_like(padded)) for _ in lengths]
    dist.all_gather(rows, Tensor(padded))
    return Tensor(xp.concatenate([r.array[:n] for r, n in zip(rows, lengths)]))


def broadcast_(tensor, root_rank, name=None, process_set=None):
    """Overwrite ``tensor`` with rank ``root_rank``'s, in place, and return it."""
    _pg._watched(f"hvd.broadcast({name or ''})", _group().bcast, _array(tensor, "broadcast_"),
                 root_rank)
    return tensor


def broadcast(tensor, root_rank, name=None, process_set=None):
    """A new Tensor holding rank ``root_rank``'s ``tensor``."""
    return broadcast_(Tensor(_array(tensor, "broadcast").copy()), root_rank, name)


def broadcast_object(obj, root_rank=0, name=None, process_set=None):
    """Rank ``root_rank``'s picklable ``obj``, on every rank."""
    return dist.broadcast_object(obj, root_rank)


def allgather_object(obj, name=None, process_set=None):
    """The list of every rank's picklable ``obj``."""
    return dist.all_gather_object(obj)


def join(device=-1):
    """Wait until every rank arrives (distgrad's ranks always run the same steps); returns the
    last rank to join, as Horovod does."""
    dist.barrier()
    return size() - 1


def broadcast_parameters(params, root_rank):
    """Copy rank ``root_rank``'s parameters to every rank: ``params`` is a ``state_dict()`` or
    ``named_parameters()``."""
    items = sorted(params.items()) if hasattr(params, "items") else list(params)
    arrays = [_array(t, "broadcast_parameters") for _, t in items]
    if arrays and size() > 1:
        broadcast_arrays(_group(), arrays, root=root_rank)


def broadcast_optimizer_state(optimizer, root_rank):
    """Copy rank ``root_rank``'s optimizer state (per-parameter state and options such as the
    learning rate) to every rank."""
    state = broadcast_object(optimizer.state_dict() if rank() == root_rank else None, root_rank)
    if rank() != root_rank:
        optimizer.load_state_dict(state)


# --- the optimizer --------------------------------------------------------------------------
class _Distributed:
    """Mixed into the wrapped optimizer's class by ``DistributedOptimizer``."""

    def _setup(self, named, compression, backward_passes_per_step, op, predivide):
        self._passes_per_step = int(backward_passes_per_step)
        if self._passes_per_step < 1:
            raise ValueError(f"backward_passes_per_step={backward_passes_per_step} must be >= 1")
        self._passes, self._in_pass, self._synchronize = 0, False, True
        comm = _group()
        if comm.size > 1:
            verify_same_model(comm, [("parameter", n, tuple(p.shape), str(p.dtype))
                                     for n, p in named])
        # These hooks run before the reducer's (registered after them): the first gradient of
        # each backward pass decides whether this pass communicates.
        for _, p in named:
            p.register_post_accumulate_grad_hook(self._count_pass)
        self._reducer = Reducer(named, comm, find_unused_parameters=True,
                                watchdog=_pg.get_watchdog())
        self._reducer.disarm()
        if compression.wire_dtype is not None or op == Sum or predivide != 1.0:
            self._reducer.register_comm_hook(
                (comm, compression.wire_dtype, op, float(predivide)), _horovod_hook)

    def _count_pass(self, param):
        if self._in_pass:
            return
        self._in_pass = True
        queue_callback(self._end_pass)
        self._passes += 1
        if self._passes > self._passes_per_step:
            raise RuntimeError(
                f"gradients were computed {self._passes} times since the last optimizer.step(), "
                f"more than backward_passes_per_step={self._passes_per_step}; call step() after "
                "every backward_passes_per_step backward passes, or raise it")
        if self._passes == self._passes_per_step and self._synchronize:
            self._reducer.prepare_for_backward()
        else:
            self._reducer.disarm()

    def _end_pass(self):
        self._in_pass = False

    def synchronize(self):
        """Wait for the gradient reductions: they finished when backward returned."""

    @contextlib.contextmanager
    def skip_synchronize(self):
        """Inside, backward passes do not communicate (gradients accumulate locally)."""
        previous, self._synchronize = self._synchronize, False
        try:
            yield
        finally:
            self._synchronize = previous

    def step(self, closure=None):
        """Update the parameters with the averaged gradients."""
        self._passes = 0
        return super().step(closure)


def _horovod_hook(state, bucket):
    """Reduce one bucket as Horovod would: gradients scaled by 1/predivide before the sum and
    predivide/size after it for ``Average`` (1 for ``Sum``), optionally as float16 on the wire.
    The bucket's control values after the gradients are always averaged."""
    comm, wire_dtype, op, predivide = state
    buffer = bucket.buffer()
    xp = get_array_module(buffer)
    grads = sum(g.size for g in bucket.gradients())
    if predivide != 1.0:
        buffer[:grads] *= buffer.dtype.type(1.0 / predivide)
    buffer[grads:] *= buffer.dtype.type(1.0 / comm.size)
    if wire_dtype is None:
        comm.allreduce(buffer)
    else:
        wire = buffer.astype(wire_dtype)
        comm.allreduce(wire)
        buffer[...] = wire
    after = predivide / comm.size if op == Average else 1.0
    if after != 1.0:
        buffer[:grads] *= buffer.dtype.type(after)
    return buffer


def DistributedOptimizer(optimizer, named_parameters=None, compression=Compression.none,
                         backward_passes_per_step=1, op=Average, gradient_predivide_factor=1.0,
                         num_groups=0, groups=None, sparse_as_dense=False, process_set=None):
    """Wrap ``optimizer`` so that each backward pass (every ``backward_passes_per_step``-th)
    averages the gradients of its parameters over all ranks while it runs.

    Returns an instance of the optimizer's own class (``param_groups``, ``state_dict()``,
    schedulers all work) with ``synchronize()`` and ``skip_synchronize()`` added. ``op`` is
    ``hvd.Average`` or ``hvd.Sum`` (``hvd.Adasum`` is not supported); ``compression`` is
    ``hvd.Compression.none`` or ``.fp16``; ``num_groups``/``groups`` are Horovod's fusion
    settings, which distgrad's buckets replace.

    >>> optimizer = hvd.DistributedOptimizer(optimizer,
    ...                                      named_parameters=model.named_parameters())  # doctest: +SKIP
    """
    op = _op(None, op, "DistributedOptimizer")
    if op not in (Average, Sum):
        raise ValueError(f"DistributedOptimizer(op={op!r}): use hvd.Average or hvd.Sum")
    params = [p for group in optimizer.param_groups for p in group["params"] if p.requires_grad]
    names = {}
    if named_parameters is not None:
        named_parameters = list(named_parameters)
        seen = [n for n, _ in named_parameters]
        if len(set(seen)) != len(seen):
            raise ValueError("DistributedOptimizer: named_parameters has duplicate names")
        names = {id(p): n for n, p in named_parameters}
        unnamed = [i for i, p in enumerate(params) if id(p) not in names]
        if unnamed:
            raise ValueError(f"DistributedOptimizer: {len(unnamed)} parameter(s) of the optimizer "
                             "are missing from named_parameters; pass model.named_parameters() "
                             "of the model the optimizer trains")
    named = [(names.get(id(p), f"allreduce.noname.{i}"), p) for i, p in enumerate(params)]
    cls = type(type(optimizer).__name__, (_Distributed, type(optimizer)), {})
    wrapped = cls.__new__(cls)
    wrapped.__dict__.update(optimizer.__dict__)
    wrapped._setup(named, compression, backward_passes_per_step, op, gradient_predivide_factor)
    return wrapped
