"""DDP communication hooks under PyTorch's module paths: ``default_hooks`` (all-reduce, fp16
and bf16 compression) and ``powerSGD_hook`` (low-rank compression with error feedback).

>>> from distgrad.distributed.algorithms.ddp_comm_hooks import powerSGD_hook as powerSGD
>>> state = powerSGD.PowerSGDState(None, matrix_approximation_rank=1)   # doctest: +SKIP
>>> ddp.register_comm_hook(state, powerSGD.powerSGD_hook)               # doctest: +SKIP
"""
from . import default_hooks, powerSGD_hook

__all__ = ["default_hooks", "powerSGD_hook"]
