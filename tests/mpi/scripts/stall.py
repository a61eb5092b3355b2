"""Rank 1 never joins (it sleeps) while rank 0 waits in a barrier or a gradient all-reduce:
rank 0's watchdog must report where it waits and abort. Argument: barrier | ddp."""
import sys
import time

import distgrad.distributed as dist
from _common import loss_of, tiny_model

where = sys.argv[1]
dist.init_process_group()
rank = dist.get_rank()
model = dist.DDP(tiny_model())
loss_of(model).backward()          # one good step: the hang is in step 1
if rank == 1:
    time.sleep(120)
elif where == "barrier":
    dist.barrier()
else:
    loss_of(model).backward()
print(f"rank {rank} was not stopped", flush=True)
