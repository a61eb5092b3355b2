"""A torchrun-style DDP script: ranks from the environment, a global batch split by rank."""
import os
import sys

import numpy

import distgrad
import distgrad.distributed as dist
from distgrad import nn, optim
from distgrad.distributed import DistributedDataParallel as DDP


def train(rank, world_size, steps=5):
    distgrad.manual_seed(0)
    model = DDP(nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3)))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    data = numpy.random.default_rng(1)
    for _ in range(steps):
        x = data.standard_normal((12, 6)).astype(numpy.float32)
        y = data.standard_normal((12, 3)).astype(numpy.float32)
        shard = slice(rank * 12 // world_size, (rank + 1) * 12 // world_size)
        loss = nn.functional.mse_loss(model(distgrad.tensor(x[shard])), distgrad.tensor(y[shard]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return numpy.concatenate([p.detach().numpy().ravel() for p in model.parameters()])


if __name__ == "__main__":
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    assert int(os.environ["LOCAL_RANK"]) < int(os.environ["LOCAL_WORLD_SIZE"])
    dist.init_process_group(backend="gloo")
    assert (dist.get_rank(), dist.get_world_size()) == (rank, world)
    params = train(rank, world)
    if rank == 0:
        numpy.save(sys.argv[1], params)
    dist.destroy_process_group()
