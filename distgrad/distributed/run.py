"""Starting N ranks: the one place that builds the ``mpiexec`` command line and its environment,
for MPICH and Intel MPI (Hydra) and Open MPI. ``distgrad run``, ``launch/mpirun.sh`` (a
wrapper over ``distgrad run``) and ``distgrad.multiprocessing.spawn`` start their ranks here.

The launcher stays a convention: this is the ``mpiexec`` command a user would type, plus what
makes the MPIs behave alike:

- threads: ranks, not threads, are the unit of parallelism, so each rank gets
  max(1, cores / ranks per machine) OpenMP/BLAS threads unless the caller chose a number;
- environment: Hydra hands every rank the whole environment, Open MPI only what ``-x`` names,
  so Open MPI is told to forward the thread counts, PATH, LD_LIBRARY_PATH, PYTHONPATH,
  VIRTUAL_ENV, CUDA_VISIBLE_DEVICES and every DISTGRAD_* variable that is set;
- Open MPI refuses to start as root, and to start more ranks than a machine has cores, unless
  told (``--allow-run-as-root``; ``--oversubscribe`` on one machine without a hostfile or a
  batch allocation, whose slots decide otherwise).
"""
import os
import shutil
import signal
import subprocess
import sys

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# What a rank needs from the launching shell to find the same programs, libraries, modules and
# GPUs; DISTGRAD_* variables are forwarded beside these.
FORWARDED_VARIABLES = ("PATH", "LD_LIBRARY_PATH", "PYTHONPATH", "VIRTUAL_ENV",
                       "CUDA_VISIBLE_DEVICES")
# torchrun's per-rank variables: each rank's own launcher variables must decide them.
TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")


class LaunchError(RuntimeError):
    """No MPI launcher could be found or the request cannot be expressed to it."""


def find_mpiexec():
    """Path of the ``mpiexec`` to use: $MPIEXEC, else the one beside this Python (a venv with
    the ``mpich`` wheel: the MPI that mpi4py there was built for), else the first on PATH."""
    chosen = os.environ.get("MPIEXEC")
    if chosen:
        found = shutil.which(chosen)
        if found is None:
            raise LaunchError(f"MPIEXEC={chosen} is not an executable: set it to the path of "
                              "an mpiexec, or unset it")
        return found
    here = os.path.dirname(sys.executable)
    for name in ("mpiexec", "mpirun"):
        found = shutil.which(name, path=here) or shutil.which(name)
        if found is not None:
            return found
    raise LaunchError("no mpiexec found beside this Python or on PATH: install an MPI "
                      "(pip install mpich, or apt-get install mpich) or set MPIEXEC=/path/to/mpiexec")


def mpi_flavour(mpiexec):
    """``"openmpi"`` or ``"hydra"`` (MPICH, Intel MPI), from ``mpiexec --version``: the two
    take different options for the same request. An mpiexec that names neither is treated as
    Hydra, with a note, since MPICH's options are the common ones."""
    try:
        done = subprocess.run([mpiexec, "--version"], capture_output=True, text=True, timeout=30)
        out = done.stdout + done.stderr
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    if any(mark in out for mark in ("Open MPI", "OpenRTE", "open-mpi")):
        return "openmpi"
    if not any(mark in out for mark in ("HYDRA", "Hydra", "Intel(R) MPI")):
        print(f"distgrad: cannot tell which MPI {mpiexec} is from its --version; "
              "giving it MPICH's options", file=sys.stderr)
    return "hydra"


def cores():
    """CPU cores this process may use (its affinity mask, as ``nproc`` counts them)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def default_world_size(environ=None):
    """Ranks to start when the caller names no number: inside a Slurm allocation the tasks it
    was given (``sbatch -n``), which mpiexec places on its nodes; elsewhere one per core."""
    env = os.environ if environ is None else environ
    tasks = env.get("SLURM_NTASKS", "")
    return int(tasks) if tasks.isdigit() and int(tasks) > 0 else cores()


def hostfile_machines(hostfile):
    """How many machines a hostfile lists (lines left after blanks and ``#`` comments), in
    either MPI's syntax. Only counted, to share each machine's cores among its ranks: the file
    goes to mpiexec as it is."""
    try:
        with open(hostfile, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as exc:
        raise LaunchError(f"--hostfile {hostfile} cannot be read ({exc.strerror})") from None
    machines = sum(1 for line in lines if line.split("#", 1)[0].strip())
    if machines == 0:
        raise LaunchError(f"--hostfile {hostfile} lists no hosts: one per line, e.g. "
                          "'node01:4' for MPICH, 'node01 slots=4' for Open MPI")
    return machines


def ranks_per_machine(nproc_per_node, nnodes=1, hostfile=None, environ=None):
    """Ranks that share one machine's cores. With several nodes mpiexec is told to put
    ``nproc_per_node`` on each; otherwise the ranks spread over the hostfile's machines, or
    the nodes of the Slurm allocation mpiexec runs in (as evenly as their slots allow: counted
    as ceil(ranks / machines)), or all run on this one."""
    if nnodes > 1:
        return nproc_per_node
    env = os.environ if environ is None else environ
    nodes = env.get("SLURM_JOB_NUM_NODES", env.get("SLURM_NNODES", ""))
    if hostfile:
        machines = hostfile_machines(hostfile)
    elif env.get("SLURM_JOB_ID") and nodes.isdigit() and int(nodes) > 0:
        machines = int(nodes)
    else:
        machines = 1
    return -(-nproc_per_node // machines)


def running_as_root():
    """Whether this process runs as root, which Open MPI refuses unless told."""
    return hasattr(os, "geteuid") and os.geteuid() == 0


def in_batch_allocation(environ):
    """Inside a Slurm or PBS job, whose allocation (not this machine's cores) decides where
    ranks go and how many fit."""
    return bool(environ.get("SLURM_JOB_ID") or environ.get("PBS_JOBID"))


def rank_environment(ranks_on_this_node, environ=None, flavour=None):
    """The environment mpiexec and the ranks start with.

    Threads: OMP_NUM_THREADS is max(1, cores // ranks on this machine) unless the caller set
    it, since ranks, not threads, are the unit of parallelism and oversubscribed BLAS threads
    slow every rank; OPENBLAS_NUM_THREADS and MKL_NUM_THREADS follow it unless set. torchrun's
    RANK, WORLD_SIZE, LOCAL_RANK and LOCAL_WORLD_SIZE are dropped: this process's values (set
    by ``import distgrad`` under a launcher, or by hand) would give every rank the same. Open
    MPI as root also gets its two permission variables."""
    env = dict(os.environ if environ is None else environ)
    for name in TORCHRUN_VARIABLES:
        env.pop(name, None)
    threads = env.get("OMP_NUM_THREADS") or str(max(1, cores() // max(1, ranks_on_this_node)))
    for name in THREAD_VARIABLES:
        env[name] = env.get(name) or threads
    if flavour == "openmpi" and running_as_root():
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    return env


def forwarded_variables(environ):
    """The variables Open MPI must be told to hand to the ranks (``-x NAME``): those of
    ``THREAD_VARIABLES``, ``FORWARDED_VARIABLES`` and DISTGRAD_* that are set. Hydra needs no
    list: it forwards the whole environment."""
    distgrad = sorted(name for name in environ if name.startswith("DISTGRAD_"))
    names = (*THREAD_VARIABLES, *FORWARDED_VARIABLES, *distgrad)
    return [name for name in names if name in environ]


def _open_mpi_options(nproc_per_node, nnodes, hostfile, environ):
    """Open MPI's placement, permission and forwarding options (see the module docstring)."""
    options = []
    if nnodes > 1:
        options += ["--map-by", f"ppr:{nproc_per_node}:node"]
    if hostfile:
        options += ["--hostfile", hostfile]
    if running_as_root():
        options.append("--allow-run-as-root")
    one_machine = nnodes == 1 and not hostfile and not in_batch_allocation(environ)
    if one_machine and nproc_per_node > cores():
        options.append("--oversubscribe")
    for name in forwarded_variables(environ):
        options += ["-x", name]
    return options


def _hydra_options(nproc_per_node, nnodes, hostfile):
    """MPICH's and Intel MPI's placement options."""
    options = []
    if nnodes > 1:
        options += ["-ppn", str(nproc_per_node)]
    if hostfile:
        options += ["-f", hostfile]
    return options


def mpiexec_command(program, nproc_per_node, nnodes=1, hostfile=None, mpiexec=None,
                    flavour=None, environ=None):
    """The ``mpiexec`` argv that starts ``program`` (a list) as ``nnodes * nproc_per_node``
    ranks, ``nproc_per_node`` on each node when ``nnodes > 1``; with one node, MPI places them
    itself (by the hostfile's slots, the Slurm or PBS allocation, or on this machine).
    ``environ`` is the environment mpiexec will run with (default: this process's), from
    which Open MPI is told what to forward."""
    environ = os.environ if environ is None else environ
    mpiexec = mpiexec or find_mpiexec()
    flavour = flavour or mpi_flavour(mpiexec)
    cmd = [mpiexec, "-n", str(nnodes * nproc_per_node)]
    if flavour == "openmpi":
        cmd += _open_mpi_options(nproc_per_node, nnodes, hostfile, environ)
    else:
        cmd += _hydra_options(nproc_per_node, nnodes, hostfile)
    return cmd + list(program)


def launch_command(program, nproc_per_node, nnodes=1, hostfile=None, environ=None):
    """``(argv, environment)`` that start ``program`` as ranks: mpiexec found and asked its
    flavour once, threads shared among the ranks of each machine. The argument meanings are
    ``mpiexec_command``'s."""
    mpiexec = find_mpiexec()
    flavour = mpi_flavour(mpiexec)
    env = rank_environment(ranks_per_machine(nproc_per_node, nnodes, hostfile, environ),
                           environ, flavour)
    return mpiexec_command(program, nproc_per_node, nnodes, hostfile, mpiexec, flavour, env), env


def exec_command(cmd, env):
    """Replace this process with ``cmd`` (same process id) instead of waiting for it: a signal
    sent to the launcher (Ctrl-C, Slurm's SIGUSR1 before the time limit, SIGTERM) then reaches
    mpiexec, which passes it on to every rank, where a Python parent in between would die of
    it and leave the ranks running. Python ignores SIGPIPE and SIGXFSZ; the default comes back
    first, so that mpiexec and the ranks do not inherit that."""
    for name in ("SIGPIPE", "SIGXFSZ"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(cmd[0], cmd, env)
