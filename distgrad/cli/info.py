"""``distgrad info``: versions, array backend, MPI library and thread level, ranks, GPUs."""
import platform

import numpy

from .. import __version__, backend
from .. import distributed as dist


def _mpi_lines():
    library = dist.mpi_library_version()
    if library is None:
        return ["MPI library: mpi4py not installed (one process only)"]
    level = dist.mpi_thread_level() or "not started (no MPI launcher: one process)"
    return [f"MPI library: {library}", f"MPI thread:  {level}"]


def run(args):
    """Print the report; every rank answers in turn so the layout is visible."""
    dist.init_process_group("auto")
    rank, size = dist.get_rank(), dist.get_world_size()
    layout = dist.all_gather_object((platform.node(), dist.get_local_rank()))
    if rank == 0:
        lines = [f"distgrad:    {__version__}",
                 f"python:      {platform.python_version()}",
                 f"numpy:       {numpy.__version__}",
                 f"cupy:        {backend.cupy.__version__ if backend.cupy is not None else 'not installed'}",
                 f"GPUs:        {backend.cuda_device_count()}",
                 f"backend:     {dist.get_backend()}",
                 *_mpi_lines(),
                 f"world size:  {size}"]
        lines += [f"  rank {r}: host {host}, local rank {local}" for r, (host, local) in enumerate(layout)]
        print("\n".join(lines), flush=True)
    dist.destroy_process_group()
    return 0
