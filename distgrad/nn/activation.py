"""Activation layers: ``ReLU``, ``Sigmoid``, ``Tanh``, ``Softmax``, ``LogSoftmax``."""
from . import functional as F
from .module import Module


class ReLU(Module):
    """Elementwise max(x, 0). ``inplace`` is accepted for PyTorch code; the result is always a
    new array (the graph needs the input's value)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.relu(x)


class Sigmoid(Module):
    """Elementwise logistic function."""

    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    """Elementwise hyperbolic tangent."""

    def forward(self, x):
        return F.tanh(x)


class _AlongDim(Module):
    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return self._function(x, self.dim if self.dim is not None else -1)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmax(_AlongDim):
    """Softmax along ``dim`` (the last one when None)."""
    _function = staticmethod(F.softmax)


class LogSoftmax(_AlongDim):
    """Log-softmax along ``dim`` (the last one when None)."""
    _function = staticmethod(F.log_softmax)
