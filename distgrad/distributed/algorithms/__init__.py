"""Gradient-communication algorithms under PyTorch's paths (``torch.distributed.algorithms``)."""
from . import ddp_comm_hooks

__all__ = ["ddp_comm_hooks"]
