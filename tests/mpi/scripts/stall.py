"""Rank 1 never joins (it sleeps, or stops itself with SIGSTOP) while rank 0 waits in a
barrier or a gradient all-reduce: rank 0's watchdog must report where it waits, name rank 1,
and abort. Arguments: barrier | ddp | stop, timeout."""
import os
import signal
import sys
import time

import distgrad.distributed as dist
from _common import loss_of, tiny_model

where, timeout = sys.argv[1], float(sys.argv[2])
dist.init_process_group(timeout=60)
dist.barrier()       # ranks may start seconds apart on a loaded machine: not what is tested
dist.destroy_process_group()
dist.init_process_group(timeout=timeout)
rank = dist.get_rank()
model = dist.DDP(tiny_model())
loss_of(model).backward()          # one good step: the hang is in step 1
if rank == 1:
    if where == "stop":
        os.kill(os.getpid(), signal.SIGSTOP)
    time.sleep(120)
elif where in ("barrier", "stop"):
    dist.barrier()
else:
    loss_of(model).backward()
print(f"rank {rank} was not stopped", flush=True)
