"""The MPI communicator (mpi4py): in-place collectives on NumPy buffers, and a progress
thread that carries ``submit``/``iallreduce`` work while the caller computes.

Thread level: distgrad asks for MPI_THREAD_MULTIPLE and accepts MPI_THREAD_SERIALIZED. Its
regular traffic is serialised by construction: a blocking call from any thread but the
progress thread first waits until that thread is idle, so only one thread is ever inside MPI.
The one exception is MPI_Abort from the watchdog or the except-hook while another thread may
sit in a collective, which only MULTIPLE makes well defined; SERIALIZED is accepted because
some MPIs (Cray MPICH without MPICH_MAX_THREAD_SAFETY=multiple) stop there.

How the progress thread waits (``progress``): between ranks of one node MPICH moves bytes
with the CPU (shared-memory copies), so a blocking MPI_Allreduce, which busy-polls, costs no
more than the copy ("blocking"; sleeping between tests measured 20-60% slower steps there).
Across a network the wire does the work and a busy-polling thread takes the core backward
needs: on a 1 Gbit/s link a blocking 900 kB all-reduce under 36 ms of compute slowed the
compute by 9-19 ms, while MPI_Iallreduce with MPI_Test every 100 us slowed it by 5-6 ms and
finished the transfer 2.5x sooner ("polling", the default when some rank is on another node).
Once the caller blocks waiting for the work, its core is free and the thread tests without
sleeping (for up to 2 ms, then it sleeps again), yielding the core between tests: each test
advances MPICH's schedule by a step, and a 4 kB all-reduce took 0.70 ms with sleeps in
between, 0.07 ms spinning and 0.04 ms yielding on 2 nodes; with 3 ranks on 2 cores 1.4 ms
sleeping, 8 ms spinning (a spinning rank starved the one it waited for) and 0.3 ms yielding.
"""
import os
import sys
import threading
import time

from .base import CommunicatorBase, CompletedRequest, check_buffer, check_op, check_root
from .bfloat16 import bf16_sum
from .progress import ProgressThread
from ...launcher import rank_layout

PROGRESS_MODES = ("blocking", "polling")
# Sleep between MPI_Test calls: 30-300 us finished a 900 kB transfer on 1 Gbit/s alike,
# 1 ms let the socket buffers drain and doubled it.
POLL_SECONDS = 1e-4

# Give up the core to another runnable thread if there is one (returns at once if not).
_yield = getattr(os, "sched_yield", lambda: time.sleep(0))
# How long to keep testing without sleeping once the caller waits: the small all-reduces this
# speeds up take 0.04-0.3 ms; a long wait (a straggler, a rank checkpointing) goes back to
# sleeping between tests rather than hold a core.
YIELD_SECONDS = 2e-3
# Odd world sizes up to this get MPICH's ring all-reduce (see library_defaults).
RING_MAX_RANKS = 16

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
        for name, value in library_defaults().items():
            os.environ.setdefault(name, value)
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


def library_defaults(environ=None):
    """Settings the MPI library reads at MPI_Init that distgrad chooses when the user has not:
    ``{name: value}`` for the variables not already in ``environ``.

    >>> library_defaults({"PMI_RANK": "0", "PMI_SIZE": "3"})["MPIR_CVAR_IALLREDUCE_INTRA_ALGORITHM"]
    'tsp_ring'
    >>> "MPIR_CVAR_IALLREDUCE_INTRA_ALGORITHM" in library_defaults({"PMI_RANK": "0", "PMI_SIZE": "4"})
    False
    """
    env = os.environ if environ is None else environ
    # UCX's TCP transport leaves Nagle's algorithm on, which holds a small segment back
    # until the peer's delayed ACK: on a 1 Gbit/s link a 4 kB all-reduce took 0.94 ms at
    # the median (p90 4 ms) instead of 0.04 ms. Gradient buckets and PowerSGD's factors
    # are small messages; gloo and NCCL's sockets set TCP_NODELAY too.
    chosen = {"UCX_TCP_NODELAY": "y"}
    # MPICH's MPI_Iallreduce (the progress thread's) folds the ranks beyond the largest power
    # of two into their partners before and after a recursive exchange; with 3 nodes on
    # 1 Gbit/s a 4 MB all-reduce took 118 ms, 38% of the link, where a ring needs 45 ms
    # (measured 46 ms, 98%) and was no slower at 4 kB. For a power of two the default is
    # already bandwidth-optimal, with fewer latencies than a ring. A ring pays 2 (N - 1)
    # latencies for any size, so beyond RING_MAX_RANKS small all-reduces (control values,
    # PowerSGD's factors) would pay more than large ones gain. (Open MPI ignores it.)
    world_size = (rank_layout(env) or (None, None))[1]
    if world_size and world_size & (world_size - 1) and world_size <= RING_MAX_RANKS:
        chosen["MPIR_CVAR_IALLREDUCE_INTRA_ALGORITHM"] = "tsp_ring"
    return {name: value for name, value in chosen.items() if name not in env}


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


class MpiCommunicator(CommunicatorBase):
    """A communicator over an mpi4py communicator (``MPI.COMM_WORLD`` by default).

    The local rank comes from ``Split_type(COMM_TYPE_SHARED)``: the ranks MPI itself knows
    share this node, whatever the launcher.

    Args:
        comm: an mpi4py communicator (default ``MPI.COMM_WORLD``).
        progress: how the progress thread waits, ``"blocking"`` or ``"polling"`` (see the
            module docstring); default: ``DISTGRAD_MPI_PROGRESS``, else ``"polling"`` when some
            rank is on another node and ``"blocking"`` otherwise.
    """

    name = "mpi"

    def __init__(self, comm=None, progress=None):
        self.MPI = MPI = load_mpi()
        self.comm = MPI.COMM_WORLD if comm is None else comm
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        local = self.comm.Split_type(MPI.COMM_TYPE_SHARED, key=self.rank)
        self.local_rank, self.local_size = local.Get_rank(), local.Get_size()
        local.Free()
        self._ops = {"sum": MPI.SUM, "prod": MPI.PROD, "max": MPI.MAX, "min": MPI.MIN,
                     "bf16_sum": MPI.Op.Create(bf16_sum, commute=True)}
        progress = progress or os.environ.get("DISTGRAD_MPI_PROGRESS") or (
            "polling" if self.crosses_network else "blocking")
        if progress not in PROGRESS_MODES:
            raise ValueError(f"progress={progress!r}: expected one of {', '.join(PROGRESS_MODES)}"
                             " (or leave it unset to choose from where the ranks are)")
        self.progress = progress
        self._thread = None   # started by the first submit

    @property
    def crosses_network(self):
        """True when some rank is on another node (its bytes travel over a network)."""
        return self.local_size < self.size

    # --- work on the progress thread ----------------------------------------------------------
    def submit(self, work):
        """Run ``work()`` on the progress thread after everything submitted before; returns a
        ``Request`` at once. Collectives that ``work`` calls wait as ``progress`` says. With
        one rank there is nothing to overlap: ``work`` runs at once; so it does when a job
        on the progress thread submits more (a hook's own ``iallreduce``), which waiting for
        a job queued behind itself would deadlock."""
        if self.size == 1 or self._on_progress_thread():
            work()
            return CompletedRequest()
        if self._thread is None:
            self._thread = ProgressThread()
        return self._thread.submit(work)

    def _on_progress_thread(self):
        return self._thread is not None and threading.get_ident() == self._thread.ident

    def _serialise(self):
        """Before a blocking call from outside the progress thread: wait until it is idle,
        so only one thread is ever inside MPI."""
        if self._thread is not None and not self._on_progress_thread():
            self._thread.drain()

    def _allreduce(self, array, op):
        if self.progress == "polling" and self._on_progress_thread():
            request = self.comm.Iallreduce(self.MPI.IN_PLACE, array, op=self._ops[op])
            # mpi4py releases the GIL in MPI_Test and time.sleep: the core goes to the caller.
            # Once the caller waits for this work there is nothing left to give it: test
            # again at once, yielding the core to any other runnable thread in between (with
            # more ranks than cores, a plain spin starved the peer it waited for).
            thread, eager_since = self._thread, None
            while not request.Test():
                if thread.caller_waiting:
                    now = time.perf_counter()
                    eager_since = eager_since or now
                    if now - eager_since < YIELD_SECONDS:
                        _yield()
                        continue
                time.sleep(POLL_SECONDS)
        else:
            self.comm.Allreduce(self.MPI.IN_PLACE, array, op=self._ops[op])
        return array

    def allreduce(self, array, op="sum"):
        """In-place MPI_Allreduce of a C-contiguous NumPy array; returns it."""
        check_op(op, array)
        check_buffer(array, "allreduce")
        self._serialise()
        return self._allreduce(array, op)

    def iallreduce(self, array, op="sum"):
        """Start an in-place all-reduce on the progress thread; returns its ``Request``."""
        check_op(op, array)
        check_buffer(array, "iallreduce")
        return self.submit(lambda: self._allreduce(array, op))

    def bcast(self, array, root=0):
        """In-place MPI_Bcast from ``root``; returns ``array``."""
        check_root(root, self.size)
        check_buffer(array, "bcast")
        self._serialise()
        self.comm.Bcast(array, root=root)
        return array

    def barrier(self):
        """MPI_Barrier."""
        self._serialise()
        self.comm.Barrier()

    def allgather_obj(self, obj):
        """Pickle-based allgather (``comm.allgather``)."""
        self._serialise()
        return self.comm.allgather(obj)

    def bcast_obj(self, obj, root=0):
        """Pickle-based broadcast (``comm.bcast``)."""
        check_root(root, self.size)
        self._serialise()
        return self.comm.bcast(obj, root=root)

    def close(self):
        """Finish submitted work and stop the progress thread (a later submit restarts it)."""
        if self._thread is not None:
            self._thread.close()
            self._thread = None

    def abort(self, errorcode=1):
        """MPI_Abort on this communicator: the launcher ends every rank of the job."""
        sys.stdout.flush()
        sys.stderr.flush()
        self.comm.Abort(errorcode)
