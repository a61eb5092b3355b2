"""Was this process started by an MPI launcher, and as which rank? Answered from the
environment alone.

``init_process_group("auto")`` asks this before deciding whether to import mpi4py, so a plain
``python train.py`` never loads an MPI library (and works on a machine that has none).
``export_torchrun_environment`` gives scripts written for ``torchrun`` the variables they read
(``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``LOCAL_WORLD_SIZE``) under mpiexec and srun:
``import distgrad`` calls it, and ``distgrad run`` starts each rank's program through this
file (``main``), so that a program that reads them first, or never imports distgrad, finds
them too.
"""
import os
import sys

# Variables each launcher sets in every process it starts. Presence is what counts: under
# ``mpiexec -n 1`` the process is still an MPI job.
_LAUNCHER_VARIABLES = (
    ("OMPI_COMM_WORLD_SIZE", "Open MPI"),
    ("PMIX_RANK", "PMIx (Open MPI 5, Slurm --mpi=pmix)"),
    ("PMI_RANK", "MPICH / Hydra / Intel MPI"),
    ("PMI_SIZE", "MPICH / Hydra / Intel MPI"),
    ("MPI_LOCALNRANKS", "MPICH / Hydra"),
    ("MV2_COMM_WORLD_SIZE", "MVAPICH2"),
    ("PALS_RANKID", "Cray PALS"),
    ("ALPS_APP_PE", "Cray ALPS"),
)


def detect_launcher(environ=None):
    """Name the launcher that started this process, or None when there was none.

    Slurm counts only inside a job step (``srun``: SLURM_STEP_ID is set) with more than one
    task; a batch script itself has SLURM_PROCID=0 but is not an MPI job.

    >>> detect_launcher({"PMI_RANK": "0", "PMI_SIZE": "2"})
    'MPICH / Hydra / Intel MPI'
    >>> detect_launcher({}) is None
    True
    """
    env = os.environ if environ is None else environ
    for variable, launcher in _LAUNCHER_VARIABLES:
        if variable in env:
            return launcher
    if "SLURM_PROCID" in env and "SLURM_STEP_ID" in env:
        tasks = env.get("SLURM_STEP_NUM_TASKS", env.get("SLURM_NTASKS", "1"))
        if tasks.isdigit() and int(tasks) > 1:
            return "Slurm srun"
    return None


# Where each launcher writes (rank, world size, local rank, local world size), in the order
# tried. Slurm comes last: inside an allocation mpiexec's own variables are the true ones.
_RANK_VARIABLES = (
    ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
     "OMPI_COMM_WORLD_LOCAL_SIZE"),
    ("PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS"),
    ("PMIX_RANK", "PMIX_SIZE", "PMIX_LOCAL_RANK", "PMIX_LOCAL_SIZE"),
    ("MV2_COMM_WORLD_RANK", "MV2_COMM_WORLD_SIZE", "MV2_COMM_WORLD_LOCAL_RANK",
     "MV2_COMM_WORLD_LOCAL_SIZE"),
    ("PALS_RANKID", None, "PALS_LOCAL_RANKID", None),
    ("SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", None),
)


def _slurm_local_size(env):
    """Tasks on this node from SLURM_TASKS_PER_NODE (``"2(x3),1"``) and SLURM_NODEID."""
    spec, node = env.get("SLURM_STEP_TASKS_PER_NODE", env.get("SLURM_TASKS_PER_NODE")), \
        env.get("SLURM_NODEID")
    if not spec or node is None or not node.isdigit():
        return None
    counts = []
    for part in spec.split(","):
        count, _, repeat = part.partition("(x")
        counts += [int(count)] * (int(repeat.rstrip(")")) if repeat else 1)
    return counts[int(node)] if int(node) < len(counts) else None


def rank_layout(environ=None):
    """``(rank, world_size, local_rank, local_world_size)`` as the launcher set them, with
    None for what it did not say; None when no launcher started this process.

    >>> rank_layout({"PMI_RANK": "1", "PMI_SIZE": "2", "MPI_LOCALRANKID": "1",
    ...              "MPI_LOCALNRANKS": "2"})
    (1, 2, 1, 2)
    """
    env = os.environ if environ is None else environ
    if detect_launcher(env) is None:
        return None
    for names in _RANK_VARIABLES:
        if names[0] in env:
            values = [env.get(n) if n else None for n in names]
            layout = [int(v) if v is not None and v.strip().isdigit() else None for v in values]
            if names[0] == "SLURM_PROCID" or "SLURM_PROCID" in env:
                # srun's own figures fill what the MPI's variables leave out (srun --mpi=pmix
                # sets PMIX_RANK but no world size).
                slurm = (_int(env.get("SLURM_PROCID")),
                         _int(env.get("SLURM_STEP_NUM_TASKS")) or _int(env.get("SLURM_NTASKS")),
                         _int(env.get("SLURM_LOCALID")), _slurm_local_size(env))
                layout = [mine if mine is not None else theirs
                          for mine, theirs in zip(layout, slurm)]
            return tuple(layout)
    return None


def _int(value):
    return int(value) if value is not None and value.strip().isdigit() else None


def export_torchrun_environment(environ=None):
    """Set ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and ``LOCAL_WORLD_SIZE`` from the MPI or
    Slurm launcher's own variables, as ``torchrun`` sets them, so a script that reads them runs
    under ``mpiexec -n N python script.py`` unchanged. Variables already set are kept (a
    launcher that sets them knows best); nothing is set without a launcher. Returns what it set.
    """
    env = os.environ if environ is None else environ
    layout = rank_layout(env)
    if layout is None:
        return {}
    names = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")
    added = {}
    for name, value in zip(names, layout):
        if value is not None and name not in env:
            env[name] = added[name] = str(value)
    return added


USAGE = "usage: python launcher.py (SCRIPT | -m MODULE | --exec PROGRAM) [ARGS ...]"


def main(argv=None):
    """One rank's start under ``distgrad run``: set torchrun's variables, then run the program
    as ``python SCRIPT``, ``python -m MODULE`` or the executable itself would. Run as a file
    (not ``-m``), so nothing but ``os`` and ``sys`` is loaded before the program starts."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or (argv[0] in ("-m", "--exec") and len(argv) < 2):
        sys.exit(USAGE)
    export_torchrun_environment()
    if argv[0] == "--exec":
        try:
            os.execvp(argv[1], argv[1:])
        except OSError as exc:
            print(f"distgrad run: cannot start {argv[1]}: {exc.strerror}", file=sys.stderr)
            sys.exit(127)
    import runpy
    # Python put this file's folder first on sys.path (unless told not to, e.g. -P): the
    # program's own goes there instead, as ``python -m`` and ``python SCRIPT`` would put it.
    own = sys.path and sys.path[0] == os.path.dirname(os.path.abspath(__file__))
    if argv[0] == "-m":
        sys.argv = [argv[1], *argv[2:]]
        if own:
            sys.path[0] = os.getcwd()
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    else:
        # Absolute, as ``python SCRIPT`` makes ``__file__`` (runpy gives argv[0] the same).
        script = os.path.abspath(argv[0])
        sys.argv = list(argv)
        if own:
            sys.path[0] = os.path.dirname(script)
        runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
