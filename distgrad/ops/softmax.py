"""``softmax`` and ``log_softmax`` along one dimension, numerically stable.

Both subtract the maximum along ``dim`` before exponentiating, so logits of ±1e4 give finite,
exact results instead of inf/nan.
"""
from ..autograd.function import ArrayFunction
from ..backend import get_array_module
from .dims import dim_index


def check_dim(name, dim, ndim):
    """``dim`` normalised to ``0 <= dim < ndim`` (negative counts from the end); out of range is
    PyTorch's IndexError."""
    return dim_index(dim, ndim)


def shifted_log_sum_exp(x, dim):
    """``(x - max, log(sum(exp(x - max))))`` along ``dim`` (keepdims): the stable pieces of
    every log-softmax."""
    xp = get_array_module(x)
    z = x - x.max(axis=dim, keepdims=True)
    return z, xp.log(xp.exp(z).sum(axis=dim, keepdims=True))


class Softmax(ArrayFunction):
    def forward(self, x, dim):
        xp = get_array_module(x)
        y = x - x.max(axis=dim, keepdims=True)
        xp.exp(y, out=y)
        y /= y.sum(axis=dim, keepdims=True)
        self.save_for_backward(y)
        self.dim = dim
        return y

    def backward(self, gy):
        y, = self.saved_tensors
        gx = gy * y
        gx -= y * gx.sum(axis=self.dim, keepdims=True)
        return gx


class LogSoftmax(ArrayFunction):
    def forward(self, x, dim):
        z, lse = shifted_log_sum_exp(x, dim)
        z -= lse
        self.save_for_backward(z)
        self.dim = dim
        return z

    def backward(self, gy):
        y, = self.saved_tensors
        return gy - get_array_module(y).exp(y) * gy.sum(axis=self.dim, keepdims=True)


def softmax(input, dim):
    """``exp(x) / sum(exp(x))`` along ``dim``.

    >>> softmax(distgrad.tensor([[1.0, 1.0]]), dim=1)
    tensor(array([[0.5, 0.5]], dtype=float32))
    """
    return Softmax.apply(input, dim=check_dim("softmax", dim, len(input.shape)))


def log_softmax(input, dim):
    """``log(softmax(x, dim))``, computed without forming the softmax (stable for large logits)."""
    return LogSoftmax.apply(input, dim=check_dim("log_softmax", dim, len(input.shape)))
