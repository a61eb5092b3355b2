"""Only rank 1 leaves a parameter unused, without find_unused_parameters: every rank must
raise the same clear error in the same step (and none may hang)."""
import sys

import distgrad.distributed as dist
from distgrad import nn
from _common import loss_of


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 3)
        self.b = nn.Linear(4, 3)

    def forward(self, x, use_b):
        return self.a(x) + self.b(x) if use_b else self.a(x)


dist.init_process_group()
rank = dist.get_rank()
model = dist.DDP(TwoHeads())
for step in range(2):
    try:
        loss_of(model, use_b=rank != 1).backward()
    except RuntimeError as exc:
        sys.stdout.write(f"rank {rank} step {step} caught RuntimeError: {exc}\n")
dist.destroy_process_group()
