"""Fixtures for tests that run under ``mpiexec -n N python -m pytest --with-mpi tests/mpi``."""
import pytest

import distgrad.distributed as dist


@pytest.fixture
def world():
    """The default communicator (MPI under a launcher, else the size-1 one)."""
    if not dist.is_initialized():
        # A hung collective aborts the job after 120 s instead of blocking CI forever.
        dist.init_process_group("auto", timeout=120)
    return dist.get_default_group()
