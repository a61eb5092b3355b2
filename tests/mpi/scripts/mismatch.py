"""Rank 1 builds a wider output layer: DDP construction must fail on every rank, not hang."""
import sys

import distgrad.distributed as dist
from _common import tiny_model

dist.init_process_group()
rank = dist.get_rank()
try:
    dist.DDP(tiny_model(width=3 + (rank == 1)))
except ValueError as exc:
    sys.stdout.write(f"rank {rank} caught ValueError: {exc}\n")  # one write: no interleaving
dist.destroy_process_group()
