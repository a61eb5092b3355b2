"""Picking elements by index tensors: ``gather``, ``index_select``, and ``sort``/``argsort``/
``topk``, whose values are a ``gather`` of their indices so the gradient reaches the input."""
import numpy

from ..autograd.function import ArrayFunction
from ..autograd.tensor import Tensor
from ..backend import get_array_module, index_add
from . import return_types
from .dims import dim_index


def _index_array(name, index, ints=("int64",)):
    array = index.array if isinstance(index, Tensor) else get_array_module(index).asarray(index)
    if array.dtype.name not in ints:
        raise RuntimeError(f"{name}(): Expected dtype {' or '.join(ints)} for index, got "
                           f"{array.dtype.name}: convert it with .long()")
    return array


def _check_bounds(index, size, dim):
    if index.size and (index.min() < 0 or index.max() >= size):
        bad = index.min() if index.min() < 0 else index.max()
        raise RuntimeError(f"index {int(bad)} is out of bounds for dimension {dim} with size {size}")


def _grid(index, dim):
    """The full advanced index that addresses ``x[..., index, ...]`` element by element:
    ``index`` along ``dim``, and each other dimension's own position."""
    xp = get_array_module(index)
    return tuple(index if a == dim else
                 xp.arange(n).reshape((-1,) + (1,) * (index.ndim - a - 1))
                 for a, n in enumerate(index.shape))


class Gather(ArrayFunction):
    def forward(self, x, index, dim):
        self.shape, self.index, self.dim = x.shape, index, dim
        # PyTorch's gather reads only the leading part of x in the other dimensions.
        window = tuple(slice(None) if a == dim else slice(0, n) for a, n in enumerate(index.shape))
        return get_array_module(x).take_along_axis(x[window], index, axis=dim)

    def backward(self, gy):
        gx = get_array_module(gy).zeros(self.shape, dtype=gy.dtype)
        index_add(gx, _grid(self.index, self.dim), gy)  # an index may repeat: contributions add
        return gx, None


class IndexSelect(ArrayFunction):
    def forward(self, x, index, dim):
        self.shape, self.index, self.dim = x.shape, index, dim
        return get_array_module(x).take(x, index, axis=dim)

    def backward(self, gy):
        gx = get_array_module(gy).zeros(self.shape, dtype=gy.dtype)
        index_add(gx, (slice(None),) * self.dim + (self.index,), gy)
        return gx, None


def gather(input, dim, index):
    """``out[i][j] = input[i][index[i][j]]`` for ``dim=1`` (likewise for any dim): ``index`` is
    int64 with ``input``'s number of dimensions and no larger than it outside ``dim``.

    >>> gather(distgrad.tensor([[1.0, 2.0], [3.0, 4.0]]), 1, distgrad.tensor([[1], [0]]))
    tensor([[2.],
           [3.]])
    """
    index = _index_array("gather", index)
    dim = dim_index(dim, input.ndim)
    if index.ndim != max(input.ndim, 1):
        raise RuntimeError(f"gather(): Index tensor must have the same number of dimensions as "
                           f"input tensor (index has {index.ndim}, input {input.ndim})")
    for a, (n, m) in enumerate(zip(index.shape, input.shape)):
        if a != dim and n > m:
            raise RuntimeError(f"gather(): Size does not match at dimension {a}: expected index "
                               f"{index.shape} to be no larger than self {input.shape} apart "
                               f"from dimension {dim}")
    _check_bounds(index, input.shape[dim] if input.ndim else 1, dim)
    return Gather.apply(input, index, dim=dim)


def index_select(input, dim, index):
    """The slices of ``input`` at positions ``index`` (a 1-D int64 or int32 tensor) along ``dim``."""
    index = _index_array("index_select", index, ints=("int32", "int64"))
    if index.ndim > 1:
        raise IndexError(f"index_select(): Index is supposed to be a vector, got shape {index.shape}")
    dim = dim_index(dim, input.ndim)
    _check_bounds(index, input.shape[dim] if input.ndim else 1, dim)
    return IndexSelect.apply(input, index.reshape(-1), dim=dim)


def argsort(input, dim=-1, descending=False, stable=False):
    """Indices (int64) that sort ``input`` along ``dim``; equal values keep their order and NaN
    counts as the largest value, as in PyTorch."""
    array = input.array if isinstance(input, Tensor) else input
    xp = get_array_module(array)
    if array.ndim == 0:
        return Tensor._from_op(xp.zeros((), dtype=numpy.int64), None)
    dim = dim_index(dim, array.ndim)
    if not descending:
        order = xp.argsort(array, axis=dim, kind="stable")
    else:
        # Sort the reversed array ascending (stable) and reverse the result: larger values first,
        # equal values in their original order, NaN first (as the largest).
        n = array.shape[dim]
        order = n - 1 - xp.flip(xp.argsort(xp.flip(array, dim), axis=dim, kind="stable"), dim)
    return Tensor._from_op(order.astype(numpy.int64, copy=False), None)


def sort(input, dim=-1, descending=False, stable=False):
    """``(values, indices)`` of ``input`` sorted along ``dim`` (a named tuple, as PyTorch's)."""
    indices = argsort(input, dim, descending)
    if input.ndim == 0:
        return return_types.sort(input.clone(), indices)
    return return_types.sort(gather(input, dim, indices), indices)


def topk(input, k, dim=-1, largest=True, sorted=True):
    """``(values, indices)`` of the ``k`` largest (``largest=False``: smallest) elements along
    ``dim``, largest first (a named tuple, as PyTorch's)."""
    size = input.shape[dim_index(dim, input.ndim)] if input.ndim else 1
    if not 0 <= k <= size:
        raise RuntimeError(f"selected index k out of range: k={k} for a dimension of size {size}")
    order = argsort(input, dim, descending=largest).array
    if input.ndim == 0:
        return return_types.topk(input.clone(), Tensor._from_op(order, None))
    dim = dim_index(dim, input.ndim)
    indices = order[(slice(None),) * dim + (slice(0, k),)]
    return return_types.topk(gather(input, dim, indices), Tensor._from_op(indices, None))


def scatter_into(target, dim, index, src, add=False):
    """Write (``add=True``: add) ``src`` — an array, a Tensor or a number — into the array
    ``target`` in place at ``index`` along ``dim``: ``target[i][index[i][j]] = src[i][j]`` for
    ``dim=1``. Repeated indices add up when adding."""
    index = _index_array("scatter", index)
    dim = dim_index(dim, target.ndim)
    if index.ndim != max(target.ndim, 1):
        raise RuntimeError(f"scatter(): Index tensor must have the same number of dimensions as "
                           f"self tensor (index has {index.ndim}, self {target.ndim})")
    _check_bounds(index, target.shape[dim] if target.ndim else 1, dim)
    xp = get_array_module(target)
    if isinstance(src, Tensor):
        src = src.array
    if getattr(src, "ndim", 0):
        src = src[tuple(slice(0, n) for n in index.shape)]
    src = xp.broadcast_to(xp.asarray(src, dtype=target.dtype), index.shape)
    if add:
        index_add(target, _grid(index, dim), src)
    else:
        target[_grid(index, dim)] = src
