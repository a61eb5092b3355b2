"""The NCCL communicator: collectives on GPU arrays, with MPI as the bootstrap and side channel.

Rank 0 creates NCCL's unique id and MPI broadcasts it; MPI also carries Python objects,
barriers and host (NumPy) arrays. A collective on a GPU array is *queued* on the caller's
current CUDA stream and returns at once — it completes in stream order, like a kernel — so
DistributedDataParallel can run bucket all-reduces on a stream of their own (``stream``).
"""
import numpy

from ... import backend
from .base import CommunicatorBase, HostChannel, Request, check_op, check_root

_DTYPES = ("float16", "float32", "float64", "int8", "uint8", "int32", "uint32", "int64", "uint64")


class _EventRequest(Request):
    """The completion of a queued collective: a CUDA event recorded right after it.

    As for every collective of this communicator, completion is in stream order: ``wait()``
    makes the current stream wait, so work queued after it sees the result (a host read such
    as ``array.get()`` waits for it too) without blocking the host.
    """

    def __init__(self, event, array):
        self._event, self._array = event, array

    def wait(self):
        """Make the current CUDA stream wait for the collective."""
        backend.cupy.cuda.get_current_stream().wait_event(self._event)
        self._array = None

    def test(self):
        """True once the collective has run on the GPU (never blocks)."""
        return self._event.done


class NcclCommunicator(HostChannel, CommunicatorBase):
    """NCCL over the GPUs of all ranks, one GPU per rank.

    Args:
        host_comm: an ``MpiCommunicator`` over the same ranks (bootstrap, objects, host arrays).
        device: this rank's GPU (``"cuda:N"``); it is made current before NCCL starts.

    Array methods take CuPy arrays (C-contiguous, float16/32/64 or integer) and queue the
    collective on the current stream; NumPy arrays go to ``host_comm``. ``stream`` is a
    non-blocking stream reserved for gradient buckets.
    """

    name = "nccl"
    stream_based = True

    def __init__(self, host_comm, device="cuda"):
        nccl = backend.nccl()
        if nccl is None:
            raise RuntimeError("backend='nccl' needs CuPy with the NCCL library (pip install "
                               "'distgrad[cuda12]' nvidia-nccl-cu12); use backend='mpi' to "
                               "reduce GPU arrays over MPI instead")
        self.host_comm = host_comm
        self.rank, self.size = host_comm.rank, host_comm.size
        self.local_rank, self.local_size = host_comm.local_rank, host_comm.local_size
        self.device = backend.set_device(device)
        cupy = backend.cupy
        uid = nccl.get_unique_id() if self.rank == 0 else None
        uid = host_comm.bcast_obj(uid, root=0)
        with cupy.cuda.Device(backend.device_index(self.device)):
            # Collective: returns once every rank has joined.
            self._comm = nccl.NcclCommunicator(self.size, uid, self.rank)
            # Non-blocking: a regular stream would be serialised against the legacy default
            # stream that backward computes on, and nothing would overlap.
            self.stream = cupy.cuda.Stream(non_blocking=True)
        self._types = {numpy.dtype(name): getattr(nccl, f"NCCL_{name.upper()}")
                       for name in _DTYPES}
        self._ops = {"sum": nccl.NCCL_SUM, "prod": nccl.NCCL_PROD, "max": nccl.NCCL_MAX,
                     "min": nccl.NCCL_MIN, "bf16_sum": nccl.NCCL_SUM}
        # ncclBfloat16 (NCCL >= 2.10); CuPy may not name it.
        self._bfloat16 = getattr(nccl, "NCCL_BFLOAT16", 9)

    def _args(self, array, what):
        """(pointer, count, NCCL dtype, stream pointer) of a device array, checked."""
        if not array.flags.c_contiguous:
            raise ValueError(f"{what} works in place and needs a C-contiguous array, got one "
                             f"with shape {array.shape} and strides {array.strides}")
        nccl_type = self._types.get(array.dtype)
        if nccl_type is None:
            raise TypeError(f"{what} over NCCL supports dtypes {', '.join(_DTYPES)}, got "
                            f"{array.dtype}; cast the array first")
        if backend.device_of(array) != self.device:
            raise ValueError(f"{what} got an array on {backend.device_of(array)} but this "
                             f"rank's NCCL communicator is on {self.device}")
        return (array.data.ptr, array.size, nccl_type,
                backend.cupy.cuda.get_current_stream().ptr)

    def allreduce(self, array, op="sum"):
        """Queue an in-place all-reduce of ``array`` on the current stream; return it."""
        check_op(op, array)
        if isinstance(array, numpy.ndarray):
            return self.host_comm.allreduce(array, op)
        ptr, count, dtype, stream = self._args(array, "allreduce")
        if op == "bf16_sum":
            dtype = self._bfloat16
        self._comm.allReduce(ptr, ptr, count, dtype, self._ops[op], stream)
        return array

    def iallreduce(self, array, op="sum"):
        """Queue the all-reduce; the request completes when the GPU has run it."""
        if isinstance(array, numpy.ndarray):
            return self.host_comm.iallreduce(array, op)
        self.allreduce(array, op)
        return _EventRequest(backend.cupy.cuda.get_current_stream().record(), array)

    def bcast(self, array, root=0):
        """Queue an in-place broadcast of ``root``'s ``array`` on the current stream."""
        check_root(root, self.size)
        if isinstance(array, numpy.ndarray):
            return self.host_comm.bcast(array, root)
        ptr, count, dtype, stream = self._args(array, "bcast")
        self._comm.bcast(ptr, count, dtype, root, stream)
        return array

    def close(self):
        """Free the NCCL communicator once all queued collectives have run."""
        if self._comm is not None:
            self.stream.synchronize()
            backend.synchronize(self.device)
            self._comm.destroy()
            self._comm = None
