"""``spawn``: run ``fn(rank, *args)`` in ``nprocs`` processes that form one MPI world.

PyTorch's ``spawn`` forks workers that meet through a TCP rendezvous. distgrad's ranks are MPI
processes, so ``spawn`` starts them the MPI way: it runs ``mpiexec -n nprocs python -m
distgrad.multiprocessing.worker`` (see ``distgrad.distributed.run``). Each worker loads the
calling script as ``__mp_main__`` (so code under ``if __name__ == "__main__":`` does not run
again, exactly as with PyTorch's ``spawn`` start method), finds ``fn`` by name and calls it with
its MPI rank; ``init_process_group`` inside ``fn`` then finds the world ``mpiexec`` made. A
worker that raises writes its traceback and aborts the whole world, and ``spawn`` raises
``ProcessRaisedException`` with that traceback. Under a launcher already (``mpiexec -n N python
script.py``), ``spawn(fn, nprocs=N)`` just calls ``fn(rank, *args)`` in this rank.
"""
import glob
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile

from ..atomic import write_atomic
from ..launcher import rank_layout
from ..distributed.run import launch_command


class ProcessException(Exception):
    """A spawned process failed; ``error_index`` is its rank."""

    def __init__(self, msg, error_index, pid=None):
        super().__init__(msg)
        self.msg, self.error_index, self.pid = msg, error_index, pid

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.pid)


class ProcessRaisedException(ProcessException):
    """A spawned process raised an exception; the message holds its traceback."""


class ProcessExitedException(ProcessException):
    """A spawned process ended with a non-zero exit code without a Python traceback."""

    def __init__(self, msg, error_index, error_pid=None, exit_code=None, signal_name=None):
        super().__init__(msg, error_index, error_pid)
        self.exit_code, self.signal_name = exit_code, signal_name

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.pid, self.exit_code,
                            self.signal_name)


def _locate(fn):
    """How a worker finds ``fn`` again: its module (or the main script) and qualified name."""
    qualname = getattr(fn, "__qualname__", "")
    if "<lambda>" in qualname or "<locals>" in qualname or not hasattr(fn, "__module__"):
        raise ValueError(f"spawn needs a function defined at the top level of a module, got "
                         f"{qualname or fn!r}: the workers import it by name (as PyTorch's "
                         "spawn pickles it)")
    where = {"module": fn.__module__, "qualname": qualname, "sys_path": list(sys.path)}
    if fn.__module__ == "__main__":
        main = sys.modules["__main__"]
        spec = getattr(main, "__spec__", None)
        if spec is not None and spec.name:
            where["module"] = spec.name           # python -m package.module
        elif getattr(main, "__file__", None):
            where["main_path"] = os.path.abspath(main.__file__)
        else:
            raise ValueError("spawn from an interactive session cannot be re-imported by the "
                             "workers: put fn in a script or module")
    return where


class ProcessContext:
    """The running job ``spawn(..., join=False)`` returns; ``join()`` waits for it."""

    def __init__(self, process, workdir, nprocs):
        self.process, self.workdir, self.nprocs = process, workdir, nprocs

    def pids(self):
        """The pid of the ``mpiexec`` that runs the ranks."""
        return [self.process.pid]

    def join(self, timeout=None):
        """Wait up to ``timeout`` seconds (None: until done). True when every rank finished,
        False on timeout; raises ``ProcessRaisedException`` when a rank raised."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        try:
            if code == 0:
                return True
            for path in sorted(glob.glob(os.path.join(self.workdir, "error-*.txt")),
                               key=lambda p: int(p.rsplit("-", 1)[1].split(".")[0])):
                rank = int(path.rsplit("-", 1)[1].split(".")[0])
                with open(path) as f:
                    trace = f.read()
                raise ProcessRaisedException(
                    f"\n\n-- Process {rank} terminated with the following error:\n{trace}", rank)
            raise ProcessExitedException(f"process group exited with exit code {code}", 0,
                                         self.process.pid, exit_code=code)
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)


def spawn(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    """Run ``fn(i, *args)`` for ``i`` in ``0..nprocs-1``, each in its own process, the
    processes forming one process group (``init_process_group`` inside ``fn`` joins it).

    Args:
        fn: a function defined at the top level of a module or of the calling script.
        args: the arguments after the rank (picklable).
        nprocs: number of processes.
        join: wait for all of them (else return a ``ProcessContext``).
        daemon, start_method: accepted for PyTorch's signature; the processes are MPI ranks
            started by ``mpiexec`` either way.

    A process that raises ends every process, and ``spawn`` raises
    ``ProcessRaisedException`` carrying its traceback.
    """
    if int(nprocs) < 1:
        raise ValueError(f"spawn(nprocs={nprocs}): need at least one process")
    layout = rank_layout()
    if layout is not None:
        rank, size = layout[0], layout[1]
        if size != nprocs:
            raise ValueError(f"spawn(nprocs={nprocs}) inside an MPI job of {size} ranks: start "
                             f"the script with `python script.py` (spawn starts the ranks) or "
                             f"with mpiexec -n {nprocs}")
        fn(rank, *args)
        return None if join else _Done()
    workdir = tempfile.mkdtemp(prefix="distgrad-spawn-")
    where = _locate(fn)
    write_atomic(os.path.join(workdir, "fn.json"), lambda f: f.write(json.dumps(where).encode()))
    write_atomic(os.path.join(workdir, "args.pkl"), lambda f: pickle.dump(tuple(args), f))
    cmd, env = launch_command([sys.executable, "-m", "distgrad.multiprocessing.worker", workdir],
                              int(nprocs))
    process = subprocess.Popen(cmd, env=env)
    context = ProcessContext(process, workdir, int(nprocs))
    if not join:
        return context
    while not context.join():
        pass
    return None


class _Done:
    """``join=False`` under a launcher: this rank's ``fn`` has already run."""

    def join(self, timeout=None):
        return True
