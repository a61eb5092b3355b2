"""The thread inside the MPI communicator that carries collectives while the caller computes.

MPICH makes no asynchronous progress for MPI_Iallreduce on its own (measured: 0% hidden), so
``MpiCommunicator.submit``/``iallreduce`` hand the work to this thread, which drives MPI
(mpi4py releases the GIL inside MPI calls, NumPy inside its kernels): both threads advance.
"""
import queue
import threading

from .base import Request

_STOP = object()


class ThreadRequest(Request):
    """The completion of the ``n``-th job of a ``ProgressThread`` (jobs finish in order)."""

    __slots__ = ("_thread", "_n")

    def __init__(self, thread, n):
        self._thread, self._n = thread, n

    def wait(self):
        """Block until the job has finished; re-raise its failure (or an earlier job's)."""
        self._thread.wait_for(self._n)

    def test(self):
        """True once the job has finished (never blocks)."""
        return self._thread.finished >= self._n


class ProgressThread:
    """Runs submitted jobs one at a time, in submission order, on a thread of its own.

    Order matters: every rank must issue its collectives in the same order, and one FIFO
    worker keeps the order in which they were submitted. A failed job fails every request
    from it on, since the collective sequence is broken from then on.
    """

    def __init__(self, name="distgrad-comm"):
        self._jobs = queue.SimpleQueue()
        self._submitted = 0
        self.finished = 0
        self._failed = None
        self._failed_at = None      # the number of the job that failed
        self._done = threading.Condition()
        # Threads blocked in wait_for: while one is, no computation needs this core, so a job
        # may wait for MPI by spinning instead of sleeping (``caller_waiting``).
        self._waiters = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self.ident = self._thread.ident

    def submit(self, work):
        """Queue ``work()``; returns a ``ThreadRequest`` at once."""
        self._submitted += 1
        self._jobs.put(work)
        return ThreadRequest(self, self._submitted)

    def idle(self):
        """True when every submitted job has finished."""
        return self.finished >= self._submitted

    def wait_for(self, n):
        """Block until the first ``n`` jobs have finished; raise if one of them failed."""
        if self.finished < n:
            with self._done:
                self._waiters += 1
                try:
                    self._done.wait_for(lambda: self.finished >= n)
                finally:
                    self._waiters -= 1
        if self._failed is not None and n >= self._failed_at:
            raise RuntimeError(f"the communication thread failed: {self._failed!r}") \
                from self._failed

    @property
    def caller_waiting(self):
        """True while some thread is blocked waiting for this thread's jobs."""
        return self._waiters > 0

    def drain(self):
        """Block until every submitted job has finished."""
        self.wait_for(self._submitted)

    def close(self):
        """Finish the queued jobs and stop the thread."""
        self._jobs.put(_STOP)
        self._thread.join()

    def _run(self):
        while True:
            work = self._jobs.get()
            if work is _STOP:
                return
            if self._failed is None:
                try:
                    work()
                except BaseException as exc:  # handed to the waiting thread, which decides
                    self._failed, self._failed_at = exc, self.finished + 1
            with self._done:
                self.finished += 1
                self._done.notify_all()
