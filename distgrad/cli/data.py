"""The data sets the command line trains on, with their normalisation."""
from ..data import FashionMNIST, MNIST, Subset, SyntheticDataset, transforms

CLASSES = {"mnist": MNIST, "fashion-mnist": FashionMNIST}
DATASETS = ("mnist", "fashion-mnist", "synthetic")


def _head(dataset, n):
    """Keep the first ``n`` samples (for quick runs); None keeps all."""
    if n is None or n >= len(dataset):
        return dataset
    return Subset(dataset, range(n))


def load(name, data_dir=None, train_samples=None, test_samples=None, seed=0, download=True):
    """``(train, test)`` data sets for ``name``: "mnist", "fashion-mnist" or "synthetic"."""
    if name == "synthetic":
        return (SyntheticDataset(train_samples or 60000, seed=seed, train=True),
                SyntheticDataset(test_samples or 10000, seed=seed, train=False))
    if name not in CLASSES:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    cls = CLASSES[name]
    # Statistics of the training pixels; applied once to all images at load time.
    transform = transforms.Compose([transforms.ToTensor(),
                                    transforms.Normalize((cls.mean,), (cls.std,))])
    train = cls(root=data_dir, train=True, download=download, transform=transform)
    test = cls(root=data_dir, train=False, download=download, transform=transform)
    return _head(train, train_samples), _head(test, test_samples)
