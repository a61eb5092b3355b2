"""Train-step time of ``distgrad.horovod.DistributedOptimizer`` beside ``DistributedDataParallel``
on the same ranks (both reduce through the same buckets while backward runs).

    OMP_NUM_THREADS=1 mpiexec -n 2 python benchmarks/horovod.py

Steps run in interleaved blocks so both see the same machine noise; a figure is the median
block, slowest rank. The ratio is Horovod-style / DDP (1.00 = the same time).
"""
import argparse

from common import start_ranks  # first: pins BLAS to one thread before NumPy loads

import numpy

import distgrad
import distgrad.distributed as dist
import distgrad.horovod as hvd
from distgrad import models, optim
from scaling import distgrad_step, step_times


def build(name, batch, comm):
    rng = numpy.random.default_rng(comm.rank)
    x = distgrad.tensor(rng.standard_normal((batch, 1, 28, 28), dtype=numpy.float32))
    y = distgrad.tensor(rng.integers(0, 10, batch))
    distgrad.manual_seed(0)
    ddp = dist.DDP(models.build(name))
    model = models.build(name)
    hvd.broadcast_parameters(model.state_dict(), root_rank=0)
    opt = hvd.DistributedOptimizer(optim.Adam(model.parameters(), lr=1e-3),
                                   named_parameters=model.named_parameters())
    return {"DistributedDataParallel": distgrad_step(ddp, optim.Adam(ddp.parameters(), lr=1e-3),
                                                     x, y),
            "hvd.DistributedOptimizer": distgrad_step(model, opt, x, y)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=64, help="per rank")
    parser.add_argument("--blocks", type=int, default=15)
    parser.add_argument("--models", nargs="+", default=["mlp", "cnn"])
    args = parser.parse_args()
    comm, _ = start_ranks()
    hvd.init()
    say = print if comm.rank == 0 else (lambda *a, **k: None)
    say(f"{comm.size} ranks x 1 thread, batch {args.batch} per rank, Adam; median of "
        f"{args.blocks} interleaved blocks, slowest rank")
    for name in args.models:
        times = step_times(build(name, args.batch, comm), comm, args.blocks,
                           40 if name == "mlp" else 4, warmup=2)
        ddp, horovod = times["DistributedDataParallel"], times["hvd.DistributedOptimizer"]
        say(f"{name}  DDP {ddp * 1e3:8.3f} ms/step   Horovod-style {horovod * 1e3:8.3f} ms/step"
            f"   ratio {horovod / ddp:.3f}", flush=True)


if __name__ == "__main__":
    main()
