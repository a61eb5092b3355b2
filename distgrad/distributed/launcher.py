"""Was this process started by an MPI launcher? Answered from the environment alone.

``init_process_group("auto")`` asks this before deciding whether to import mpi4py, so a plain
``python train.py`` never loads an MPI library (and works on a machine that has none).
"""
import os

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
