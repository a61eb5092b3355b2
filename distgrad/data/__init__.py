"""distgrad.data: data sets, samplers and the DataLoader that feeds training.

>>> from distgrad.data import DataLoader, datasets, Normalize
>>> train = datasets.FashionMNIST(train=True, transform=Normalize(0.2860, 0.3530))  # doctest: +SKIP
>>> loader = DataLoader(train, batch_size=64, shuffle=True, seed=0)  # doctest: +SKIP
"""
from distgrad.data import datasets, transforms
from distgrad.data.dataloader import ArrayDataset, DataLoader, Dataset
from distgrad.data.datasets import MNIST, DatasetNotFoundError, FashionMNIST
from distgrad.data.download import ChecksumError, DownloadError
from distgrad.data.idx import IDXError, read_idx, write_idx
from distgrad.data.sampler import (DistributedEvalSampler, DistributedSampler, RandomSampler,
                                   Sampler, SequentialSampler, shard_indices)
from distgrad.data.synthetic import SyntheticDataset
from distgrad.data.transforms import Compose, Normalize

__all__ = [
    "ArrayDataset", "ChecksumError", "Compose", "DataLoader", "Dataset", "DatasetNotFoundError",
    "DistributedEvalSampler", "DistributedSampler", "DownloadError", "FashionMNIST", "IDXError",
    "MNIST", "Normalize", "RandomSampler", "Sampler", "SequentialSampler", "SyntheticDataset",
    "datasets", "read_idx", "shard_indices", "transforms", "write_idx",
]
