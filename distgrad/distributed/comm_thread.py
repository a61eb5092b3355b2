"""The thread that performs gradient all-reduces while backward keeps computing.

MPICH makes no asynchronous progress for MPI_Iallreduce on its own (measured: 0% hidden), so
distgrad hands each ready bucket to this thread, which sits in a *blocking* MPI_Allreduce;
mpi4py releases the GIL there (and NumPy inside its kernels), so both threads advance.
"""
import queue
import threading

_STOP = object()


class CommThread:
    """Runs ``work(job)`` for each submitted job, in submission order, on one thread.

    Order matters: every rank must issue its collectives in the same order, and a single
    FIFO worker keeps the order in which the main thread launched the buckets.
    An exception in ``work`` is handed to ``wait_all`` (raised there in the main thread);
    the jobs after it are skipped, since the collective sequence is broken from then on.
    """

    def __init__(self, work, name="distgrad-comm"):
        self._work = work
        self._jobs = queue.SimpleQueue()
        self._done = queue.SimpleQueue()
        self._pending = 0
        self._failed = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, job):
        """Queue ``job``; returns at once."""
        self._pending += 1
        self._jobs.put(job)

    def wait_all(self):
        """Block until every submitted job has finished; re-raise the first failure."""
        error = None
        while self._pending:
            result = self._done.get()
            self._pending -= 1
            if result is not None and error is None:
                error = result
        if error is not None:
            raise RuntimeError(f"the communication thread failed: {error!r}") from error

    def close(self):
        """Finish the queued jobs and stop the thread."""
        self._jobs.put(_STOP)
        self._thread.join()

    def _run(self):
        while True:
            job = self._jobs.get()
            if job is _STOP:
                return
            if self._failed is not None:
                self._done.put(self._failed)
                continue
            try:
                self._work(job)
            except BaseException as exc:  # handed to the main thread, which decides
                self._failed = exc
                self._done.put(exc)
            else:
                self._done.put(None)
