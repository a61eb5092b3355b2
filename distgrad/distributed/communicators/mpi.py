"""The MPI communicator (mpi4py): in-place collectives on NumPy buffers.

Thread level: distgrad asks for MPI_THREAD_MULTIPLE and accepts MPI_THREAD_SERIALIZED. Its
regular traffic is serialised by construction: during backward only the communication thread
calls MPI (the main thread computes, or waits until the thread's queue is empty before it
reduces the last bucket itself); outside backward only the main thread does. The one exception is MPI_Abort from the watchdog or the except-hook while another
thread may sit in a collective, which only MULTIPLE makes well defined; SERIALIZED is accepted
because some MPIs (Cray MPICH without MPICH_MAX_THREAD_SAFETY=multiple) stop there.
"""
import sys

from .base import (CommunicatorBase, Request, check_buffer, check_op, check_root)

_LEVEL_NAMES = ("MPI_THREAD_SINGLE", "MPI_THREAD_FUNNELED", "MPI_THREAD_SERIALIZED",
                "MPI_THREAD_MULTIPLE")


def load_mpi():
    """Import ``mpi4py.MPI`` asking for MPI_THREAD_MULTIPLE; fail clearly below SERIALIZED."""
    try:
        import mpi4py
    except ImportError as exc:
        raise RuntimeError("the 'mpi' backend needs mpi4py: pip install mpi4py (plus an MPI "
                           "library, e.g. pip install mpich), or run without a launcher to "
                           "train in one process") from exc
    if "mpi4py.MPI" not in sys.modules:  # the level can only be chosen before MPI_Init
        mpi4py.rc.thread_level = "multiple"
    from mpi4py import MPI
    if not MPI.Is_initialized():
        MPI.Init_thread(MPI.THREAD_MULTIPLE)
    provided = MPI.Query_thread()
    if provided < MPI.THREAD_SERIALIZED:
        raise RuntimeError(
            f"the MPI library provided {_LEVEL_NAMES[provided]} but distgrad's communication "
            "thread needs MPI_THREAD_SERIALIZED or better (MULTIPLE preferred). Do not set "
            "mpi4py.rc.thread_level below 'serialized' or initialise MPI before distgrad; with "
            "Cray MPICH set MPICH_MAX_THREAD_SAFETY=multiple; otherwise use an MPI built with "
            "thread support (MPICH, Open MPI >= 4, Intel MPI)")
    return MPI


def library_version():
    """The MPI library's name and version (first line), or None without mpi4py. MPI is not
    started for this when it is not running (MPI_Get_library_version may precede MPI_Init)."""
    try:
        import mpi4py
    except ImportError:
        return None
    if "mpi4py.MPI" not in sys.modules:
        mpi4py.rc.initialize = False
    from mpi4py import MPI
    return MPI.Get_library_version().strip().splitlines()[0]


def thread_level():
    """The thread level MPI provided (e.g. "MPI_THREAD_MULTIPLE"), or None when not running."""
    MPI = sys.modules.get("mpi4py.MPI")
    if MPI is None or not MPI.Is_initialized():
        return None
    return _LEVEL_NAMES[MPI.Query_thread()]


class MpiRequest(Request):
    """An ``MPI.Request`` that keeps its buffer alive until completion."""

    __slots__ = ("_request", "_buffer")

    def __init__(self, request, buffer):
        self._request, self._buffer = request, buffer

    def wait(self):
        """Block in MPI_Wait."""
        self._request.Wait()
        self._buffer = None

    def test(self):
        """Poll with MPI_Test (which also drives MPI's progress engine)."""
        done = self._request.Test()
        if done:
            self._buffer = None
        return done


class MpiCommunicator(CommunicatorBase):
    """A communicator over an mpi4py communicator (``MPI.COMM_WORLD`` by default).

    The local rank comes from ``Split_type(COMM_TYPE_SHARED)``: the ranks MPI itself knows
    share this node, whatever the launcher.
    """

    name = "mpi"

    def __init__(self, comm=None):
        self.MPI = MPI = load_mpi()
        self.comm = MPI.COMM_WORLD if comm is None else comm
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        local = self.comm.Split_type(MPI.COMM_TYPE_SHARED, key=self.rank)
        self.local_rank, self.local_size = local.Get_rank(), local.Get_size()
        local.Free()
        self._ops = {"sum": MPI.SUM, "prod": MPI.PROD, "max": MPI.MAX, "min": MPI.MIN}

    def allreduce(self, array, op="sum"):
        """In-place MPI_Allreduce of a C-contiguous NumPy array; returns it."""
        check_op(op)
        check_buffer(array, "allreduce")
        self.comm.Allreduce(self.MPI.IN_PLACE, array, op=self._ops[op])
        return array

    def iallreduce(self, array, op="sum"):
        """In-place MPI_Iallreduce. MPICH only progresses it inside MPI calls (``wait``/``test``)."""
        check_op(op)
        check_buffer(array, "iallreduce")
        return MpiRequest(self.comm.Iallreduce(self.MPI.IN_PLACE, array, op=self._ops[op]), array)

    def bcast(self, array, root=0):
        """In-place MPI_Bcast from ``root``; returns ``array``."""
        check_root(root, self.size)
        check_buffer(array, "bcast")
        self.comm.Bcast(array, root=root)
        return array

    def barrier(self):
        """MPI_Barrier."""
        self.comm.Barrier()

    def allgather_obj(self, obj):
        """Pickle-based allgather (``comm.allgather``)."""
        return self.comm.allgather(obj)

    def bcast_obj(self, obj, root=0):
        """Pickle-based broadcast (``comm.bcast``)."""
        check_root(root, self.size)
        return self.comm.bcast(obj, root=root)

    def abort(self, errorcode=1):
        """MPI_Abort on this communicator: the launcher ends every rank of the job."""
        sys.stdout.flush()
        sys.stderr.flush()
        self.comm.Abort(errorcode)
