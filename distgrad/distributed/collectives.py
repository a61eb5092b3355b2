"""PyTorch's collectives on the default process group: ``all_reduce``, ``broadcast``,
``reduce``, ``all_gather``, ``gather``, ``scatter``, ``reduce_scatter``, the ``*_object``
forms and ``barrier``, with PyTorch's signatures and ``ReduceOp``.

Every communicator (MPI, NCCL, pinned staging) provides ``allreduce`` and ``bcast``; the other
collectives are composed from those two, so they work on every device. ``all_gather`` and
friends then move N times the bytes a dedicated MPI call would: they serve metrics and
bookkeeping, while gradients go through ``DistributedDataParallel``'s buckets.
"""
from ..autograd import Tensor
from ..backend import get_array_module
from .process_group import _default, _watched


class ReduceOp:
    """How ``all_reduce`` and ``reduce`` combine values: ``ReduceOp.SUM``, ``PRODUCT``,
    ``MIN``, ``MAX`` and ``AVG`` (floating point), as PyTorch's."""

    SUM = "sum"
    PRODUCT = "prod"
    MIN = "min"
    MAX = "max"
    AVG = "avg"


class Work:
    """What a collective called with ``async_op=True`` returns: ``wait()`` blocks until it is
    done (then ``is_completed()`` is True)."""

    def __init__(self, request=None, finish=None):
        self._request, self._finish, self._done = request, finish, request is None

    def wait(self, timeout=None):
        """Block until the collective has finished; returns True."""
        if not self._done:
            self._request.wait()
            if self._finish is not None:
                self._finish()
            self._done = True
        return True

    def is_completed(self):
        """True once the collective has finished (never blocks)."""
        if not self._done and self._request.test():
            self.wait()
        return self._done


def _array(x, what):
    if isinstance(x, Tensor):
        return x.array
    if hasattr(x, "dtype") and hasattr(x, "shape"):
        return x
    raise TypeError(f"{what} takes a distgrad Tensor (or a NumPy/CuPy array), got "
                    f"{type(x).__name__}")


def _check_group(group, what):
    if group is not None and group is not _default():
        raise ValueError(f"{what}(group=...): distgrad has one process group, the default one "
                         "(pass group=None)")


def _op_name(op):
    return op if isinstance(op, str) else str(op)


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``tensor`` over all ranks, in place on every rank.

    With ``async_op=True`` the reduction is started and a ``Work`` returned; ``tensor`` holds
    the result after ``work.wait()``. ``op=ReduceOp.AVG`` divides the sum by the world size.
    """
    _check_group(group, "all_reduce")
    comm, data, op = _default(), _array(tensor, "all_reduce"), _op_name(op)
    reduce_op = "sum" if op == "avg" else op
    finish = (lambda: data.__itruediv__(comm.size)) if op == "avg" else None
    if async_op:
        return Work(comm.iallreduce(data, reduce_op), finish)
    _watched(f"all_reduce(op={op!r})", comm.allreduce, data, reduce_op)
    if finish is not None:
        finish()
    return None


def broadcast(tensor, src=0, group=None, async_op=False):
    """Overwrite ``tensor`` on every rank with rank ``src``'s, in place."""
    _check_group(group, "broadcast")
    _watched(f"broadcast(src={src})", _default().bcast, _array(tensor, "broadcast"), src)
    return Work() if async_op else None


def reduce(tensor, dst=0, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``tensor`` over all ranks into rank ``dst``'s ``tensor`` (other ranks' tensors
    hold the same result here; PyTorch leaves them unspecified)."""
    _check_group(group, "reduce")
    all_reduce(tensor, op)
    return Work() if async_op else None


def _stacked(comm, array, rank):
    """A (world size, *shape) array holding ``array`` in row ``rank`` and zeros elsewhere."""
    xp = get_array_module(array)
    rows = xp.zeros((comm.size,) + array.shape, dtype=array.dtype)
    rows[rank] = array
    return rows


def _gathered(array, what):
    comm = _default()
    rows = _stacked(comm, array, comm.rank)
    _watched(f"{what}()", comm.allreduce, rows, "sum")  # each row has one non-zero writer
    return rows


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Fill ``tensor_list[i]`` with rank i's ``tensor`` on every rank (same shapes)."""
    _check_group(group, "all_gather")
    comm, array = _default(), _array(tensor, "all_gather")
    if len(tensor_list) != comm.size:
        raise ValueError(f"all_gather: tensor_list has {len(tensor_list)} entries for a world "
                         f"size of {comm.size}")
    rows = _gathered(array, "all_gather")
    for out, row in zip(tensor_list, rows):
        _array(out, "all_gather")[...] = row
    return Work() if async_op else None


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """Concatenate every rank's ``input_tensor`` along dimension 0 into ``output_tensor``."""
    _check_group(group, "all_gather_into_tensor")
    rows = _gathered(_array(input_tensor, "all_gather_into_tensor"), "all_gather_into_tensor")
    out = _array(output_tensor, "all_gather_into_tensor")
    out[...] = rows.reshape(out.shape)
    return Work() if async_op else None


def gather(tensor, gather_list=None, dst=0, group=None, async_op=False):
    """Collect every rank's ``tensor`` into ``gather_list`` on rank ``dst`` (None elsewhere)."""
    _check_group(group, "gather")
    comm = _default()
    rows = _gathered(_array(tensor, "gather"), "gather")
    if comm.rank == dst:
        if gather_list is None or len(gather_list) != comm.size:
            raise ValueError(f"gather: rank {dst} needs a gather_list of {comm.size} tensors")
        for out, row in zip(gather_list, rows):
            _array(out, "gather")[...] = row
    return Work() if async_op else None


def scatter(tensor, scatter_list=None, src=0, group=None, async_op=False):
    """Give rank i ``scatter_list[i]`` from rank ``src``, written into ``tensor``."""
    _check_group(group, "scatter")
    comm, out = _default(), _array(tensor, "scatter")
    xp = get_array_module(out)
    rows = xp.empty((comm.size,) + out.shape, dtype=out.dtype)
    if comm.rank == src:
        if scatter_list is None or len(scatter_list) != comm.size:
            raise ValueError(f"scatter: rank {src} needs a scatter_list of {comm.size} tensors")
        for i, t in enumerate(scatter_list):
            rows[i] = _array(t, "scatter")
    _watched(f"scatter(src={src})", comm.bcast, rows, src)
    out[...] = rows[comm.rank]
    return Work() if async_op else None


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``input_list[i]`` over all ranks into rank i's ``output``."""
    _check_group(group, "reduce_scatter")
    comm, out = _default(), _array(output, "reduce_scatter")
    if len(input_list) != comm.size:
        raise ValueError(f"reduce_scatter: input_list has {len(input_list)} entries for a world "
                         f"size of {comm.size}")
    xp = get_array_module(out)
    rows = xp.stack([_array(t, "reduce_scatter") for t in input_list])
    all_reduce(rows, op)
    out[...] = rows[comm.rank]
    return Work() if async_op else None


def barrier(group=None, async_op=False, device_ids=None):
    """Block until every rank reaches the barrier."""
    _check_group(group, "barrier")
    _watched("barrier()", _default().barrier)
    return Work() if async_op else None


_ONE_ARGUMENT = object()


def all_gather_object(object_list, obj=_ONE_ARGUMENT, group=None):
    """Every rank's picklable ``obj``: PyTorch's form fills ``object_list`` (of world-size
    length) in place; the one-argument form ``all_gather_object(obj)`` returns the list."""
    one_argument = obj is _ONE_ARGUMENT
    value = object_list if one_argument else obj
    gathered = _watched("all_gather_object()", _default().allgather_obj, value)
    if one_argument:
        return gathered
    _check_group(group, "all_gather_object")
    if len(object_list) != len(gathered):
        raise ValueError(f"all_gather_object: object_list has {len(object_list)} entries for a "
                         f"world size of {len(gathered)}")
    object_list[:] = gathered
    return None


def broadcast_object_list(object_list, src=0, group=None, device=None):
    """Replace the entries of ``object_list`` on every rank with rank ``src``'s, in place."""
    _check_group(group, "broadcast_object_list")
    object_list[:] = _watched(f"broadcast_object_list(src={src})", _default().bcast_obj,
                              list(object_list), src)


def broadcast_object(obj, src=0):
    """Rank ``src``'s picklable ``obj``, returned on every rank."""
    return _watched(f"broadcast_object(src={src})", _default().bcast_obj, obj, src)


def gather_object(obj, object_gather_list=None, dst=0, group=None):
    """Every rank's ``obj`` into ``object_gather_list`` on rank ``dst``."""
    _check_group(group, "gather_object")
    gathered = _watched("gather_object()", _default().allgather_obj, obj)
    if _default().rank == dst:
        object_gather_list[:] = gathered
