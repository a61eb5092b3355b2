"""The communicator interface: methods named after the MPI calls they stand for.

Array methods work in place on C-contiguous arrays; the ``_obj`` twins move picklable Python
objects. Every rank must call the same collectives in the same order, as in MPI itself.
"""
import abc

# "bf16_sum": a sum of bfloat16 values held as uint16 bit patterns (NumPy has no bfloat16),
# rounded to bfloat16 at each addition as a bfloat16 all-reduce on a GPU does.
REDUCE_OPS = ("sum", "prod", "max", "min", "bf16_sum")


def check_op(op, array=None):
    """Raise a ValueError naming ``op`` unless it is one of ``REDUCE_OPS`` (and, for
    ``"bf16_sum"``, ``array`` holds uint16 bit patterns)."""
    if op not in REDUCE_OPS:
        raise ValueError(f"unknown reduction op={op!r}: expected one of {', '.join(REDUCE_OPS)}")
    if op == "bf16_sum" and array is not None and str(array.dtype) != "uint16":
        raise TypeError(f"op='bf16_sum' reduces bfloat16 bit patterns held as uint16, got dtype "
                        f"{array.dtype}; convert with communicators.bfloat16.to_bfloat16_bits")


def check_root(root, size):
    """Raise a ValueError unless ``0 <= root < size``."""
    if not 0 <= root < size:
        raise ValueError(f"root={root} is not a rank of this communicator (size {size})")


def check_buffer(array, what):
    """Raise unless ``array`` is a C-contiguous NumPy array an MPI call can write in place."""
    if type(array).__module__.split(".")[0] != "numpy":
        raise TypeError(f"{what} needs a NumPy array, got {type(array).__module__}."
                        f"{type(array).__name__}; move the data to the host with "
                        "distgrad.backend.to_numpy (GPU communication is not provided yet)")
    if not array.flags.c_contiguous:
        raise ValueError(f"{what} works in place and needs a C-contiguous array, got one with "
                         f"shape {array.shape} and strides {array.strides}; "
                         "pass numpy.ascontiguousarray(a) and copy the result back")
    if not array.flags.writeable:
        raise ValueError(f"{what} works in place but the array of shape {array.shape} is "
                         "read-only; pass a writable copy")


class Request(abc.ABC):
    """A pending non-blocking collective (MPI_Request): ``wait()`` blocks, ``test()`` polls."""

    @abc.abstractmethod
    def wait(self):
        """Block until the operation has completed."""

    @abc.abstractmethod
    def test(self):
        """Return True once the operation has completed (never blocks)."""


class CompletedRequest(Request):
    """A request that finished when it was created (a collective over one rank)."""

    def wait(self):
        """Return at once: there is nothing to wait for."""

    def test(self):
        """Always True."""
        return True


class CommunicatorBase(abc.ABC):
    """What DistributedDataParallel and the process group need from a communicator.

    Attributes ``rank``/``size`` describe the whole communicator, ``local_rank``/``local_size``
    the processes that share this node (the GPU a rank binds to is its ``local_rank``).
    """

    rank = 0
    size = 1
    local_rank = 0
    local_size = 1
    name = "base"

    def __repr__(self):
        return (f"{type(self).__name__}(rank={self.rank}, size={self.size}, "
                f"local_rank={self.local_rank}, local_size={self.local_size})")

    @abc.abstractmethod
    def allreduce(self, array, op="sum"):
        """Reduce ``array`` over all ranks in place (MPI_Allreduce with MPI_IN_PLACE); return it."""

    @abc.abstractmethod
    def iallreduce(self, array, op="sum"):
        """Start an in-place all-reduce of ``array``; return a ``Request`` (MPI_Iallreduce)."""

    def submit(self, work):
        """Run ``work()`` (which may call this communicator's collectives) after everything
        submitted before, where this communicator makes progress; return a ``Request``.

        Here: at once, in the caller's thread. ``MpiCommunicator`` runs it on its progress
        thread, so the caller keeps computing meanwhile.
        """
        work()
        return CompletedRequest()

    @abc.abstractmethod
    def bcast(self, array, root=0):
        """Overwrite ``array`` on every rank with ``root``'s (MPI_Bcast); return it."""

    @abc.abstractmethod
    def barrier(self):
        """Block until every rank has called ``barrier`` (MPI_Barrier)."""

    @abc.abstractmethod
    def allgather_obj(self, obj):
        """Return the list of every rank's ``obj``, indexed by rank."""

    @abc.abstractmethod
    def bcast_obj(self, obj, root=0):
        """Return ``root``'s ``obj`` on every rank."""

    @abc.abstractmethod
    def abort(self, errorcode=1):
        """End every process of the job now with ``errorcode`` (MPI_Abort); does not return."""


class HostChannel:
    """Mixin for device communicators built on a host one (``self.host_comm``): barriers,
    Python objects and aborts always travel through the host communicator."""

    def barrier(self):
        """The host communicator's barrier (queued device work is not waited for)."""
        self.host_comm.barrier()

    def allgather_obj(self, obj):
        """The host communicator's ``allgather_obj``."""
        return self.host_comm.allgather_obj(obj)

    def bcast_obj(self, obj, root=0):
        """The host communicator's ``bcast_obj``."""
        return self.host_comm.bcast_obj(obj, root)

    def abort(self, errorcode=1):
        """The host communicator's ``abort``: the launcher ends every rank."""
        self.host_comm.abort(errorcode)
