"""An mp.spawn-style DDP script (as PyTorch's DDP tutorial is written), run with plain python."""
import os
import sys

import numpy

import distgrad.distributed as dist
import distgrad.multiprocessing as mp
from torchrun_ddp import train


def setup(rank, world_size):
    os.environ["MASTER_ADDR"] = "localhost"  # what a PyTorch script sets; MPI does not need it
    os.environ["MASTER_PORT"] = "12355"
    dist.init_process_group("gloo", rank=rank, world_size=world_size)


def run_demo(rank, world_size, out):
    setup(rank, world_size)
    params = train(rank, world_size)
    if rank == 0:
        numpy.save(out, params)
    dist.destroy_process_group()


def broken(rank, world_size):
    setup(rank, world_size)
    if rank == world_size - 1:
        raise ValueError(f"rank {rank} cannot go on")
    dist.barrier()


if __name__ == "__main__":
    world_size = int(sys.argv[2])
    if sys.argv[1] == "broken":
        mp.spawn(broken, args=(world_size,), nprocs=world_size, join=True)
    else:
        mp.spawn(run_demo, args=(world_size, sys.argv[1]), nprocs=world_size, join=True)
