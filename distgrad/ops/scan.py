"""Running and total products and sums: ``cumsum``, and ``prod`` whose gradient is built from
exclusive running products, so it stays exact when an element is zero (no division)."""
from ..autograd.function import ArrayFunction
from ..backend import get_array_module
from .dims import dim_index
from .reduction import _expand
from .shape import clone


def _along(dim, ndim, part):
    return (slice(None),) * dim + (part,)


class CumSum(ArrayFunction):
    def forward(self, x, dim):
        self.dim = dim
        return get_array_module(x).cumsum(x, axis=dim)

    def backward(self, gy):
        xp = get_array_module(gy)
        return xp.flip(xp.cumsum(xp.flip(gy, self.dim), axis=self.dim), self.dim)


class Prod(ArrayFunction):
    def forward(self, x, dim, keepdims):
        # dim None multiplies all elements: the gradient treats them as one flat row.
        self.shape, self.dim, self.keepdims = x.shape, dim, keepdims
        self.save_for_backward(x)
        return get_array_module(x).asarray(x.prod(axis=dim, keepdims=keepdims))

    def backward(self, gy):
        x, = self.saved_tensors
        xp = get_array_module(x)
        dim = self.dim
        if dim is None:
            x, dim = x.reshape(-1), 0
        ones = xp.ones(x.shape[:dim] + (1,) + x.shape[dim + 1:], dtype=x.dtype)
        before = xp.cumprod(x, axis=dim)[_along(dim, x.ndim, slice(0, -1))]
        before = xp.concatenate([ones, before], dim)
        after = xp.flip(xp.cumprod(xp.flip(x, dim), axis=dim), dim)
        after = xp.concatenate([after[_along(dim, x.ndim, slice(1, None))], ones], dim)
        others = (before * after).reshape(self.shape)
        axes = tuple(range(len(self.shape))) if self.dim is None else (self.dim,)
        return _expand(gy, self.shape, axes, self.keepdims) * others


def cumsum(x, dim):
    """Running sums along ``dim``."""
    dim = dim_index(dim, x.ndim)
    return clone(x) if x.ndim == 0 else CumSum.apply(x, dim=dim)


def prod(x, dim=None, keepdim=False):
    """Product of all elements, or along one ``dim``."""
    if dim is not None:
        dim = dim_index(dim, x.ndim)
        if x.ndim == 0:
            dim = None
    return Prod.apply(x, dim=dim, keepdims=bool(keepdim))
