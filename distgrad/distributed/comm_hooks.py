"""Communication hooks: how a bucket's gradients are reduced, as in PyTorch's ``register_comm_hook``.

A hook is ``hook(state, bucket) -> array``: it receives a ``GradBucket`` and returns the
*average* over ranks of ``bucket.buffer()`` (same shape and dtype; returning the buffer
itself after reducing in place saves a copy; a Tensor, or a future whose ``wait()`` gives
one, as PyTorch's hooks return, is accepted too). Hooks run one bucket at a time, in bucket
order, where the communicator makes progress (the MPI progress thread; the last bucket on the
main thread, once that thread is idle), and must reduce the whole buffer (it carries control
values after the gradients). PyTorch's hooks live under their PyTorch paths in
``distgrad.distributed.algorithms.ddp_comm_hooks``.
"""
from ..backend import get_array_module
from .communicators.bfloat16 import from_bfloat16_bits, to_bfloat16_bits


def hook_result(result):
    """The array a hook produced: ``result`` itself, a Tensor's array, or a future's value."""
    if hasattr(result, "wait") and not hasattr(result, "dtype"):
        result = result.wait()
    return getattr(result, "array", result)


class GradBucket:
    """What a communication hook sees of one bucket."""

    def __init__(self, bucket, process_group, is_last):
        self._bucket = bucket
        self._is_last = is_last
        self.process_group = process_group

    def index(self):
        """Position of the bucket in launch order (0 is launched first)."""
        return self._bucket.index

    def buffer(self):
        """The flat gradient buffer (reduce all of it)."""
        return self._bucket.buffer

    def is_last(self):
        """True for the bucket launched last in each step."""
        return self._is_last

    def parameters(self):
        """The parameters whose gradients live in this bucket."""
        return list(self._bucket.params)

    def gradients(self):
        """Views of ``buffer()`` shaped like each parameter."""
        return list(self._bucket.views)


def allreduce_hook(state, bucket):
    """The default: sum over ranks in place, then divide by the world size.

    ``state`` is a communicator, or None for the DDP's own process group.
    """
    comm = state if state is not None else bucket.process_group
    buffer = bucket.buffer()
    comm.allreduce(buffer)
    buffer /= comm.size
    return buffer


def fp16_compress_hook(state, bucket):
    """All-reduce the bucket as float16: half the bytes on the wire of a float32 bucket.

    Each rank divides by the world size *before* casting, so the sum cannot overflow
    float16's range (max 65504); the result is cast back into the bucket. Accuracy
    trade-off: float16 keeps 11 significant bits (relative rounding error about 5e-4 per
    value, summed over ranks) and flushes gradients below about 6e-8 to zero, so tiny
    gradients are lost and results differ from float32 at the 1e-3 relative level. Fine for
    SGD/Adam on typical networks; use the default hook when bit-for-bit agreement with one
    process matters or gradients are very small (e.g. without loss scaling at low lr).

    ``state`` is a communicator, or None for the DDP's own process group.

    >>> ddp.register_comm_hook(None, fp16_compress_hook)          # doctest: +SKIP
    """
    comm = state if state is not None else bucket.process_group
    buffer = bucket.buffer()
    xp = get_array_module(buffer)
    compressed = xp.empty(buffer.shape, dtype=xp.float16)
    xp.divide(buffer, comm.size, out=compressed, casting="same_kind")
    comm.allreduce(compressed)
    buffer[...] = compressed
    return buffer


def bf16_compress_hook(state, bucket):
    """All-reduce the bucket as bfloat16: half the bytes of a float32 bucket, float32's range.

    Each rank divides by the world size, rounds to bfloat16 (8 significant bits, relative
    error up to 2^-9 per value, also at each addition of the sum), all-reduces the 16-bit
    values and widens the result into the bucket. Unlike float16 nothing overflows or
    flushes to zero early, at the price of 8x coarser rounding.

    ``state`` is a communicator, or None for the DDP's own process group.
    """
    comm = state if state is not None else bucket.process_group
    buffer = bucket.buffer()
    bits = to_bfloat16_bits(buffer / comm.size)
    comm.allreduce(bits, op="bf16_sum")
    buffer[...] = from_bfloat16_bits(bits)
    return buffer
