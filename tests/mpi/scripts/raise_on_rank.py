"""Rank 1 raises (in its main thread, or in the communication thread) while the others keep
training: the abort hook must end the job within seconds. Argument: main | comm."""
import sys

import distgrad.distributed as dist
from _common import loss_of, tiny_model

where = sys.argv[1]
dist.init_process_group()
rank = dist.get_rank()
model = dist.DDP(tiny_model())


def failing_hook(state, bucket):
    if rank == 1:
        raise RuntimeError("deliberate failure in the comm hook on rank 1")
    return dist.allreduce_hook(state, bucket)


if where == "comm":
    model.register_comm_hook(None, failing_hook)
for step in range(100):
    if where == "main" and rank == 1 and step == 2:
        raise RuntimeError("deliberate failure on rank 1")
    loss_of(model).backward()
print(f"rank {rank} finished 100 steps", flush=True)
