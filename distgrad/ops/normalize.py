"""``normalize``: divide vectors along one dimension by their p-norm, PyTorch's ``F.normalize``.

One node: ``x / max(||x||_p, eps)``. Composing it from ``abs``, ``pow`` and ``sum`` would give
NaN gradients for an all-zero vector (0 times the infinite slope of the root at 0), where
PyTorch gives ``g / eps``.
"""
import math

from ..autograd.function import ArrayFunction
from ..backend import get_array_module
from .softmax import check_dim


class Normalize(ArrayFunction):
    def forward(self, x, p, dim, eps):
        xp = get_array_module(x)
        a = xp.abs(x)
        if p == 2:
            norm = xp.sqrt((x * x).sum(axis=dim, keepdims=True))
        elif p == math.inf:
            norm = a.max(axis=dim, keepdims=True)
        else:
            norm = (a ** p).sum(axis=dim, keepdims=True) ** (1 / p)
        self.clamped = norm < eps
        denom = xp.maximum(norm, eps).astype(x.dtype, copy=False)
        self.save_for_backward(x, norm, denom)
        self.p, self.dim = p, dim
        return x / denom

    def backward(self, gy):
        x, norm, denom = self.saved_tensors
        xp = get_array_module(x)
        p, dim = self.p, self.dim
        gx = gy / denom
        # Where the norm was used (not eps), it depends on x: d||x||/dx_j is
        # sign(x_j) |x_j|^(p-1) / ||x||^(p-1) (for p = inf, the sign at the maximum entries).
        if p == math.inf:
            at_max = xp.abs(x) == norm
            dnorm = xp.sign(x) * at_max / xp.maximum(at_max.sum(axis=dim, keepdims=True), 1)
        elif p == 2:
            dnorm = x / denom
        else:
            dnorm = xp.sign(x) * (xp.abs(x) / denom) ** (p - 1)
        coupling = (gy * x).sum(axis=dim, keepdims=True) / (denom * denom)
        gx -= xp.where(self.clamped, 0, coupling * dnorm)
        return gx


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """``input / max(||input||_p, eps)`` along ``dim``: unit vectors, safe for zero ones.

    >>> normalize(distgrad.tensor([[3.0, 4.0]])).tolist()
    [[0.6000000238418579, 0.800000011920929]]
    """
    if out is not None:
        raise TypeError("normalize(out=...) is not supported: assign the result instead")
    p = float(p)
    if not p > 0:
        raise ValueError(f"normalize got p={p}: the norm's order must be positive")
    dim = check_dim("normalize", dim, len(input.shape))
    return Normalize.apply(input, p=p, dim=dim, eps=eps)
