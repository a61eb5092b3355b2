"""The two reference workloads: the MNIST MLP and CNN (the same architectures as the PyTorch
examples users compare with, so their state_dicts are interchangeable)."""
from . import nn


def mlp(num_classes=10, dropout=0.2):
    """Flatten → Linear(784, 128) → ReLU → Dropout(0.2) → Linear(128, 10) (101,770 parameters)."""
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Dropout(dropout),
                         nn.Linear(128, num_classes))


def cnn(num_classes=10):
    """Conv2d(1,32,3) ReLU MaxPool2d(2) → Conv2d(32,64,3) ReLU MaxPool2d(2) → Flatten →
    Linear(1600,128) ReLU → Linear(128,10) (225,034 parameters)."""
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, num_classes))


MODELS = {"mlp": mlp, "cnn": cnn}


def build(name, **kwargs):
    """The model registered under ``name`` ("mlp" or "cnn")."""
    try:
        return MODELS[name](**kwargs)
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODELS)}") from None
