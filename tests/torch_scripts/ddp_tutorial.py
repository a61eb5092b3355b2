"""Data-parallel training in the style of PyTorch's DDP tutorials, at whatever world size the
launcher gives (RANK/WORLD_SIZE; one process when run plainly).

It peeks at one batch before training, shuffles with a DistributedSampler and calls set_epoch
every epoch, and checkpoints on rank 0. Each rank's shard is one full batch, so the update does
not depend on the (library-specific) shuffled order and the printed losses compare across
libraries; whether each epoch's order differs from the last is printed as 1 or 0.
"""
import os
import tempfile

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
import torch.optim as optim
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset


class ToyModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.net1 = nn.Linear(10, 10)
        self.relu = nn.ReLU()
        self.net2 = nn.Linear(10, 5)

    def forward(self, x):
        return self.net2(self.relu(self.net1(x)))


def setup(rank, world_size):
    os.environ.setdefault("MASTER_ADDR", "localhost")
    os.environ.setdefault("MASTER_PORT", "12355")
    dist.init_process_group("gloo", rank=rank, world_size=world_size)


def cleanup():
    dist.destroy_process_group()


def demo_basic(rank, world_size):
    print(f"Running basic DDP example on rank {rank}.")
    setup(rank, world_size)
    device = torch.device("cuda", rank) if torch.cuda.is_available() else torch.device("cpu")

    rng = np.random.default_rng(0)
    inputs = torch.from_numpy(rng.standard_normal((40, 10)))
    targets = torch.from_numpy(rng.standard_normal((40, 5)))
    dataset = TensorDataset(inputs, targets)
    sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=0)
    loader = DataLoader(dataset, batch_size=len(dataset) // world_size, sampler=sampler)

    first_inputs, _ = next(iter(loader))
    print("first batch", tuple(first_inputs.shape))

    model = ToyModel().double().to(device)
    init = np.random.default_rng(1)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(init.uniform(-0.3, 0.3, tuple(p.shape))))
    ddp_model = DDP(model, device_ids=[rank] if torch.cuda.is_available() else None)

    loss_fn = nn.MSELoss()
    optimizer = optim.SGD(ddp_model.parameters(), lr=0.1, momentum=0.9)

    previous = None
    for epoch in range(4):
        sampler.set_epoch(epoch)
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            loss = loss_fn(ddp_model(x), y)
            loss.backward()
            optimizer.step()
        order = [i for i in sampler]
        if previous is not None:
            print("order changed", int(order != previous))
        previous = order
        print(f"epoch {epoch} loss {loss.item():.12f}")

    checkpoint = os.path.join(tempfile.gettempdir(), f"ddp_tutorial_{os.getpid()}.pt")
    if rank == 0:
        torch.save(ddp_model.state_dict(), checkpoint)
    dist.barrier()
    map_location = {"cuda:0": f"cuda:{rank}"} if torch.cuda.is_available() else "cpu"
    restored = DDP(ToyModel().double().to(device))
    restored.load_state_dict(torch.load(checkpoint, map_location=map_location, weights_only=True))
    with torch.no_grad():
        diff = (restored(inputs.to(device)) - ddp_model(inputs.to(device))).abs().max().item()
    print(f"restored max diff {diff}")
    dist.barrier()
    if rank == 0:
        os.remove(checkpoint)
    cleanup()
    print(f"Finished running basic DDP example on rank {rank}.")


if __name__ == "__main__":
    demo_basic(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)))
