"""Starting N ranks from Python: the ``mpiexec`` command line that ``distgrad run`` and
``distgrad.multiprocessing.spawn`` use, for MPICH (Hydra) and Open MPI.

The launcher stays a convention: this module only builds and runs the same ``mpiexec`` command a
user would type, with one BLAS thread per core per rank unless the caller set its own.
"""
import os
import shutil
import subprocess
import sys


class LaunchError(RuntimeError):
    """No MPI launcher could be found or the request cannot be expressed to it."""


def find_mpiexec():
    """Path of the ``mpiexec`` to use: $MPIEXEC, else the one beside this Python (a venv with
    the ``mpich`` wheel), else the first on PATH."""
    chosen = os.environ.get("MPIEXEC")
    if chosen:
        found = shutil.which(chosen)
        if found is None:
            raise LaunchError(f"MPIEXEC={chosen} is not an executable")
        return found
    here = os.path.dirname(sys.executable)
    for name in ("mpiexec", "mpirun"):
        found = shutil.which(name, path=here) or shutil.which(name)
        if found is not None:
            return found
    raise LaunchError("no mpiexec found beside this Python or on PATH: install an MPI "
                      "(pip install mpich, or apt-get install mpich) or set MPIEXEC=/path/to/mpiexec")


def mpi_flavour(mpiexec):
    """``"openmpi"`` or ``"hydra"`` (MPICH, Intel MPI), from ``mpiexec --version``."""
    try:
        out = subprocess.run([mpiexec, "--version"], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    return "openmpi" if ("Open MPI" in out or "OpenRTE" in out) else "hydra"


def cores():
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def rank_environment(ranks_on_this_node, environ=None):
    """The environment for the ranks: one BLAS/OpenMP thread per core each (at least one),
    unless the caller chose a thread count."""
    env = dict(os.environ if environ is None else environ)
    if "OMP_NUM_THREADS" not in env:
        threads = str(max(1, cores() // max(1, ranks_on_this_node)))
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env.setdefault(name, threads)
    return env


def mpiexec_command(program, nproc_per_node, nnodes=1, hostfile=None, mpiexec=None,
                    flavour=None):
    """The ``mpiexec`` argv that starts ``program`` (a list) as ``nnodes * nproc_per_node``
    ranks, ``nproc_per_node`` on each node (hosts from ``hostfile`` or, inside a Slurm or PBS
    allocation, from the allocation)."""
    mpiexec = mpiexec or find_mpiexec()
    flavour = flavour or mpi_flavour(mpiexec)
    total = nnodes * nproc_per_node
    cmd = [mpiexec, "-n", str(total)]
    if flavour == "openmpi":
        if nnodes > 1:
            cmd += ["--map-by", f"ppr:{nproc_per_node}:node"]
        if hostfile:
            cmd += ["--hostfile", hostfile]
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "PYTHONPATH"):
            cmd += ["-x", name]  # Open MPI forwards only what it is told to remote nodes
    else:
        if nnodes > 1:
            cmd += ["-ppn", str(nproc_per_node)]
        if hostfile:
            cmd += ["-f", hostfile]
    return cmd + list(program)
