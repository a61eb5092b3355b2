"""Reductions: sum, mean, max and min over an axis (or all axes), with keepdims; argmax and
argmin; max/min along one dimension as PyTorch's ``(values, indices)`` pair."""
from ..autograd.function import ArrayFunction
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from . import return_types
from .dims import dim_tuple as _axes


def _expand(gy, shape, axes, keepdims):
    """Broadcast a reduced gradient back over ``shape``."""
    xp = get_array_module(gy)
    if not keepdims:
        gy = gy.reshape(tuple(1 if i in axes else n for i, n in enumerate(shape)))
    return xp.broadcast_to(gy, shape)


class Sum(ArrayFunction):
    def forward(self, x, axis=None, keepdims=False):
        self.shape, self.axes, self.keepdims = x.shape, _axes(axis, x.ndim), keepdims
        return get_array_module(x).asarray(x.sum(axis=self.axes, keepdims=keepdims))

    def backward(self, gy):
        return _expand(gy, self.shape, self.axes, self.keepdims)


class Mean(ArrayFunction):
    def forward(self, x, axis=None, keepdims=False):
        self.shape, self.axes, self.keepdims = x.shape, _axes(axis, x.ndim), keepdims
        self.count = 1
        for a in self.axes:
            self.count *= x.shape[a]
        return get_array_module(x).asarray(x.mean(axis=self.axes, keepdims=keepdims))

    def backward(self, gy):
        return _expand(gy / self.count, self.shape, self.axes, self.keepdims)


class Max(ArrayFunction):
    _pick = "max"

    def forward(self, x, axis=None, keepdims=False):
        self.axes, self.keepdims = _axes(axis, x.ndim), keepdims
        self.along_one_axis = axis is not None and len(self.axes) == 1
        y = getattr(x, self._pick)(axis=self.axes, keepdims=True)
        self.save_for_backward(x, y)
        return y if keepdims else y.reshape(tuple(n for i, n in enumerate(y.shape) if i not in self.axes))

    def backward(self, gy):
        x, y = self.saved_tensors
        xp = get_array_module(x)
        mask = x == y
        if self.along_one_axis:
            # Along one given axis the gradient goes to the first maximum (the argmax), as
            # PyTorch's max(dim) does; over all elements (or several axes) ties share it evenly,
            # as PyTorch's max() and amax() do.
            mask &= xp.cumsum(mask, axis=self.axes[0]) == 1
        share = mask.astype(gy.dtype)
        if not self.along_one_axis:
            share /= share.sum(axis=self.axes, keepdims=True)
        return _expand(gy, x.shape, self.axes, self.keepdims) * share


def sum(x, axis=None, keepdims=False):
    """Sum over ``axis`` (an int, a tuple, or None for all)."""
    return Sum.apply(x, axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    """Mean over ``axis`` (an int, a tuple, or None for all)."""
    return Mean.apply(x, axis=axis, keepdims=keepdims)


class Min(Max):
    _pick = "min"  # the same gradient rule, routed to the smallest element(s)


def max(x, axis=None, keepdims=False):
    """Maximum over ``axis``."""
    return Max.apply(x, axis=axis, keepdims=keepdims)


def min(x, axis=None, keepdims=False):
    """Minimum over ``axis``."""
    return Min.apply(x, axis=axis, keepdims=keepdims)


def _index_of(pick, x, dim, keepdim):
    """Indices of the first maximum/minimum along ``dim`` (all elements when None), int64."""
    array = x.array if isinstance(x, Tensor) else x
    if dim is not None:
        _axes(dim, array.ndim)  # the same range check and message as the reductions
    found = getattr(get_array_module(array), pick)(array, axis=dim, keepdims=bool(keepdim))
    return Tensor._from_op(get_array_module(array).asarray(found, dtype="int64"), None)


def argmax(x, dim=None, keepdim=False):
    """Index of the (first) maximum along ``dim``, or into the flattened tensor when None."""
    return _index_of("argmax", x, dim, keepdim)


def argmin(x, dim=None, keepdim=False):
    """Index of the (first) minimum along ``dim``, or into the flattened tensor when None."""
    return _index_of("argmin", x, dim, keepdim)


def max_dim(x, dim, keepdim=False):
    """``(values, indices)`` of the maximum along ``dim``, as PyTorch's ``max(dim)``; the
    gradient flows to the element ``indices`` names."""
    return return_types.max(Max.apply(x, axis=dim, keepdims=keepdim), argmax(x, dim, keepdim))


def min_dim(x, dim, keepdim=False):
    """``(values, indices)`` of the minimum along ``dim``, as PyTorch's ``min(dim)``."""
    return return_types.min(Min.apply(x, axis=dim, keepdims=keepdim), argmin(x, dim, keepdim))
