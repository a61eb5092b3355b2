"""MPI for GPU arrays when NCCL is not there: through pinned host memory (``StagingCommunicator``)
or, with a CUDA-aware MPI, straight from device memory (``CudaAwareMpiCommunicator``).

Either way the device must have finished writing a buffer before MPI reads it: every call
waits for the GPU first, as mpi4py's CuPy demos do. ``cuda_aware_mpi()`` decides which one
``mpi_for_gpu`` builds; ``DISTGRAD_CUDA_AWARE_MPI=0|1`` overrides the detection.
"""
import os

import numpy

from ... import backend
from .base import CommunicatorBase, HostChannel, check_op, check_root
from .mpi import MpiCommunicator, load_mpi

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def cuda_aware_mpi(MPI=None, environ=None):
    """Whether the MPI library can read and write GPU memory itself.

    In order: ``DISTGRAD_CUDA_AWARE_MPI`` (``1``/``0``) when set; the library's own answer
    (Open MPI's ``MPIX_Query_cuda_support``, where mpi4py exposes it as
    ``MPI.Query_cuda_support``); Open MPI's ``OMPI_MCA_opal_cuda_support=true`` or Cray
    MPICH's ``MPICH_GPU_SUPPORT_ENABLED=1``; else False (staging is always correct).
    """
    environ = os.environ if environ is None else environ
    forced = environ.get("DISTGRAD_CUDA_AWARE_MPI", "").strip().lower()
    if forced in _TRUE:
        return True
    if forced in _FALSE:
        return False
    if forced:
        raise ValueError(f"DISTGRAD_CUDA_AWARE_MPI={forced!r}: expected 1 or 0 (or unset to "
                         "detect)")
    query = getattr(MPI, "Query_cuda_support", None)
    if query is not None:
        return bool(query())
    if environ.get("OMPI_MCA_opal_cuda_support", "").strip().lower() in _TRUE:
        return True
    return environ.get("MPICH_GPU_SUPPORT_ENABLED", "").strip().lower() in _TRUE


class StagingCommunicator(HostChannel, CommunicatorBase):
    """Array collectives of ``host_comm`` on arrays it cannot read, through host copies.

    Each array call runs ``sync(array)`` (the device has finished writing it), ``to_host(array)``
    (a host array with its values), the host communicator's call, and ``to_device(host,
    array)`` (the result back into ``array``, in place). Arrays for which ``is_host(array)`` is
    true go to ``host_comm`` unchanged. Object calls, ``barrier`` and ``abort`` are
    ``host_comm``'s.

    Args:
        host_comm: a communicator of host arrays (``MpiCommunicator``).
        to_host, to_device, sync, is_host: the four functions above; ``sync`` defaults to
            nothing, ``is_host`` to "is a NumPy array".

    With NumPy arrays, ``to_host=numpy.copy`` and ``to_device=numpy.copyto`` (reversed) it runs
    anywhere, which is how it is tested; ``mpi_for_gpu`` gives it CuPy's copies through pinned
    memory.
    """

    stream_based = False

    def __init__(self, host_comm, to_host, to_device, sync=None, is_host=None):
        self.host_comm = host_comm
        self.rank, self.size = host_comm.rank, host_comm.size
        self.local_rank, self.local_size = host_comm.local_rank, host_comm.local_size
        self.name = f"{host_comm.name}+staging"
        self._to_host, self._to_device = to_host, to_device
        self._sync = sync if sync is not None else (lambda array: None)
        self._is_host = is_host if is_host is not None else (
            lambda array: isinstance(array, numpy.ndarray))

    def _stage(self, array):
        self._sync(array)
        return self._to_host(array)

    def allreduce(self, array, op="sum"):
        """Reduce ``array`` over all ranks in place, through a host copy; return it."""
        check_op(op)
        if self._is_host(array):
            return self.host_comm.allreduce(array, op)
        host = self._stage(array)
        self.host_comm.allreduce(host, op)
        self._to_device(host, array)
        return array

    def iallreduce(self, array, op="sum"):
        """Start staging, reducing and copying back on the host communicator's progress
        context (the progress thread for MPI); returns its ``Request``."""
        check_op(op)
        return self.submit(lambda: self.allreduce(array, op))

    def submit(self, work):
        """Run ``work()`` where the host communicator makes progress (see its ``submit``)."""
        return self.host_comm.submit(work)

    def bcast(self, array, root=0):
        """Overwrite ``array`` with ``root``'s, through a host copy; return it."""
        check_root(root, self.size)
        if self._is_host(array):
            return self.host_comm.bcast(array, root)
        host = self._stage(array)
        self.host_comm.bcast(host, root)
        if self.rank != root:
            self._to_device(host, array)
        return array


class PinnedStaging:
    """CuPy's side of ``StagingCommunicator``: copies through page-locked host buffers, kept
    per size and reused (DMA from pinned memory is about twice as fast as from pageable).

    Used by one thread at a time: the MPI communicator's progress thread during backward, the main
    thread otherwise.
    """

    def __init__(self):
        self._buffers = {}

    def sync(self, array):
        """Wait until the GPU has finished writing ``array``."""
        # The whole device, not one stream: MPI may be called from the communication thread,
        # whose current stream is not the one backward computes on. Making the array's GPU
        # current here also lets that thread run the reducer's scaling kernel on it.
        array.device.use()
        backend.synchronize(backend.device_of(array))

    def to_host(self, array):
        """``array`` copied into a reused pinned host buffer of its size."""
        nbytes = array.nbytes
        raw = self._buffers.get(nbytes)
        if raw is None:
            raw = self._buffers[nbytes] = backend.cupyx.empty_pinned(nbytes, dtype=numpy.uint8)
        host = raw.view(array.dtype).reshape(array.shape)
        array.get(out=host)
        return host

    @staticmethod
    def to_device(host, array):
        """Copy ``host`` back into the device ``array``."""
        # From pinned memory the copy is synchronous for the host, so the buffer can be reused.
        with array.device:
            array.set(host)


class CudaAwareMpiCommunicator(MpiCommunicator):
    """An ``MpiCommunicator`` that hands GPU arrays to a CUDA-aware MPI as they are (mpi4py
    reads CuPy arrays through ``__cuda_array_interface__``), after waiting for the GPU."""

    def __init__(self, comm=None):
        super().__init__(comm)
        self.name = "mpi+cuda-aware"

    @staticmethod
    def _device_buffer(array, what):
        if isinstance(array, numpy.ndarray):
            return False
        if not array.flags.c_contiguous:
            raise ValueError(f"{what} works in place and needs a C-contiguous array, got one "
                             f"with shape {array.shape} and strides {array.strides}")
        array.device.use()
        backend.synchronize(backend.device_of(array))
        return True

    def allreduce(self, array, op="sum"):
        """In-place MPI_Allreduce of a NumPy or (device-synchronised) CuPy array."""
        check_op(op)
        if not self._device_buffer(array, "allreduce"):
            return super().allreduce(array, op)
        self._serialise()
        return self._allreduce(array, op)

    def iallreduce(self, array, op="sum"):
        """Start the all-reduce of a NumPy or CuPy array on the progress thread (which waits
        for the device first)."""
        check_op(op)
        if not self._device_buffer(array, "iallreduce"):
            return super().iallreduce(array, op)
        return self.submit(lambda: self.allreduce(array, op))

    def bcast(self, array, root=0):
        """In-place MPI_Bcast of a NumPy or (device-synchronised) CuPy array."""
        check_root(root, self.size)
        if not self._device_buffer(array, "bcast"):
            return super().bcast(array, root)
        self.comm.Bcast(array, root=root)
        return array


def mpi_for_gpu(comm=None, cuda_aware=None):
    """The MPI communicator for a rank whose arrays live on a GPU: CUDA-aware when
    ``cuda_aware`` (default: ``cuda_aware_mpi()``), else staging through pinned memory.

    ``comm`` is an mpi4py communicator (default ``COMM_WORLD``).
    """
    if cuda_aware is None:
        cuda_aware = cuda_aware_mpi(load_mpi())
    if cuda_aware:
        return CudaAwareMpiCommunicator(comm)
    pinned = PinnedStaging()
    return StagingCommunicator(MpiCommunicator(comm), pinned.to_host, pinned.to_device,
                               sync=pinned.sync)
