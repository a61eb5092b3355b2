"""distgrad.data: data sets, samplers and the DataLoader that feeds training, with the names of
PyTorch's ``torch.utils.data`` (and torchvision's ``datasets`` and ``transforms``).

>>> from distgrad.data import DataLoader, datasets, transforms
>>> transform = transforms.Compose([transforms.ToTensor(),
...                                  transforms.Normalize((0.1307,), (0.3081,))])
>>> train = datasets.MNIST(train=True, transform=transform)               # doctest: +SKIP
>>> loader = DataLoader(train, batch_size=64, shuffle=True)               # doctest: +SKIP
"""
from distgrad.data import datasets, distributed, transforms
from distgrad.data.collate import default_collate, default_convert
from distgrad.data.dataloader import DataLoader
from distgrad.data.dataset import (ArrayDataset, ConcatDataset, Dataset, Subset, TensorDataset,
                                   random_split)
from distgrad.data.datasets import MNIST, DatasetNotFoundError, FashionMNIST
from distgrad.data.download import ChecksumError, DownloadError
from distgrad.data.idx import IDXError, read_idx, write_idx
from distgrad.data.sampler import (BatchSampler, DistributedEvalSampler, DistributedSampler,
                                   RandomSampler, Sampler, SequentialSampler, shard_indices)
from distgrad.data.synthetic import SyntheticDataset
from distgrad.data.transforms import Compose, Lambda, Normalize, ToTensor

__all__ = [
    "ArrayDataset", "BatchSampler", "ChecksumError", "Compose", "ConcatDataset", "DataLoader",
    "Dataset", "DatasetNotFoundError", "DistributedEvalSampler", "DistributedSampler",
    "DownloadError", "FashionMNIST", "IDXError", "Lambda", "MNIST", "Normalize", "RandomSampler",
    "Sampler", "SequentialSampler", "Subset", "SyntheticDataset", "TensorDataset", "ToTensor",
    "datasets", "default_collate", "default_convert", "random_split", "read_idx",
    "shard_indices", "transforms", "write_idx",
]
