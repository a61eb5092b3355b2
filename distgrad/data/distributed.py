"""``distgrad.data.distributed.DistributedSampler``: the import path PyTorch scripts use
(``torch.utils.data.distributed.DistributedSampler``)."""
from distgrad.data.sampler import DistributedSampler

__all__ = ["DistributedSampler"]
