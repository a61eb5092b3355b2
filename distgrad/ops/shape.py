"""Shape and layout: reshape, transpose/permute, flatten, (un)squeeze, indexing, device moves."""
import itertools
import numbers

from ..autograd.function import ArrayFunction
from ..autograd.tensor import Tensor
from ..backend import get_array_module, index_add, to_device, device_of


class Reshape(ArrayFunction):
    def forward(self, x, shape):
        self.shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise RuntimeError(f"cannot reshape a tensor of shape {x.shape} ({x.size} elements) "
                               f"into shape {tuple(shape)}") from None

    def backward(self, gy):
        return gy.reshape(self.shape)


class Permute(ArrayFunction):
    def forward(self, x, axes):
        if sorted(a % x.ndim for a in axes) != list(range(x.ndim)):
            raise RuntimeError(f"permute got axes {tuple(axes)} for a tensor of shape {x.shape}: "
                               f"need a permutation of 0..{x.ndim - 1}")
        self.axes = tuple(a % x.ndim for a in axes)
        return x.transpose(self.axes)

    def backward(self, gy):
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a] = i
        return gy.transpose(inverse)


class GetItem(ArrayFunction):
    def forward(self, x, index):
        self.shape, self.dtype, self.index = x.shape, x.dtype, index
        return x[index]

    def backward(self, gy):
        gx = get_array_module(gy).zeros(self.shape, dtype=gy.dtype)
        if _is_basic(self.index):
            gx[self.index] = gy
        else:  # advanced indexing may repeat an element: contributions must add up
            index_add(gx, self.index, gy)
        return gx


def _is_basic(index):
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (numbers.Integral, slice)) or i is None or i is Ellipsis for i in items)


class Cat(ArrayFunction):
    def forward(self, *arrays, axis=0):
        xp = get_array_module(arrays[0])
        shapes = [a.shape for a in arrays]
        ndim = arrays[0].ndim
        if any(a.ndim != ndim for a in arrays) or not -ndim <= axis < ndim:
            raise RuntimeError(f"cat along dim {axis} got shapes {shapes}")
        self.axis = axis % ndim
        self.bounds = list(itertools.accumulate(a.shape[self.axis] for a in arrays))[:-1]
        try:
            return xp.concatenate(arrays, axis=self.axis)
        except ValueError:
            raise RuntimeError(f"cat along dim {axis} got shapes {shapes}: all other dimensions "
                               "must match") from None

    def backward(self, gy):
        xp = get_array_module(gy)
        return tuple(xp.split(gy, self.bounds, axis=self.axis))


class Stack(ArrayFunction):
    def forward(self, *arrays, axis=0):
        shapes = {a.shape for a in arrays}
        if len(shapes) != 1:
            raise RuntimeError(f"stack needs tensors of one shape, got {sorted(shapes)}")
        self.axis = axis % (arrays[0].ndim + 1)
        return get_array_module(arrays[0]).stack(arrays, axis=self.axis)

    def backward(self, gy):
        xp = get_array_module(gy)
        return tuple(xp.moveaxis(gy, self.axis, 0))


class To(ArrayFunction):
    def forward(self, x, device=None, dtype=None):
        self.device, self.dtype = device_of(x), x.dtype
        if device is not None:
            x = to_device(x, device)
        if dtype is not None and x.dtype != dtype:
            x = x.astype(dtype)
        return x

    def backward(self, gy):
        return to_device(gy, self.device).astype(self.dtype, copy=False)


class Clone(ArrayFunction):
    def forward(self, x):
        return x.copy()

    def backward(self, gy):
        return gy


def clone(x):
    """A copy of ``x`` with its own memory; the gradient passes through unchanged."""
    return Clone.apply(x)


def reshape(x, shape):
    """``x`` with a new shape (one entry may be -1)."""
    return Reshape.apply(x, shape=tuple(shape))


def permute(x, axes):
    """Reorder the dimensions of ``x``."""
    return Permute.apply(x, axes=tuple(axes))


def transpose(x, axes=()):
    """No axes: reverse all dimensions; two ints: swap them (PyTorch); else a permutation."""
    ndim = x.ndim
    if not axes:
        axes = tuple(range(ndim - 1, -1, -1))
    elif len(axes) == 2:
        a, b = (i % ndim for i in axes)
        perm = list(range(ndim))
        perm[a], perm[b] = perm[b], perm[a]
        axes = perm
    return permute(x, axes)


def flatten(x, start_dim=0, end_dim=-1):
    """Merge dimensions ``start_dim..end_dim`` (inclusive) into one."""
    shape = x.shape
    s, e = start_dim % max(len(shape), 1), end_dim % max(len(shape), 1)
    merged = 1
    for n in shape[s:e + 1]:
        merged *= n
    return reshape(x, shape[:s] + (merged,) + shape[e + 1:])


def unsqueeze(x, dim):
    """Insert a dimension of size one at ``dim``."""
    shape = list(x.shape)
    shape.insert(dim % (len(shape) + 1), 1)
    return reshape(x, shape)


def squeeze(x, dim=None):
    """Drop dimensions of size one (only ``dim`` when given and of size one)."""
    shape = x.shape
    if dim is None:
        return reshape(x, [n for n in shape if n != 1])
    dim %= len(shape)
    return reshape(x, [n for i, n in enumerate(shape) if i != dim or n != 1])


def getitem(x, index):
    """``x[index]``: basic or advanced indexing, differentiable."""
    if isinstance(index, Tensor):
        index = index.array
    elif isinstance(index, tuple):
        index = tuple(i.array if isinstance(i, Tensor) else i for i in index)
    return GetItem.apply(x, index=index)


def cat(tensors, dim=0):
    """Join tensors along an existing dimension ``dim``."""
    if not tensors:
        raise ValueError("cat needs at least one tensor")
    return Cat.apply(*tensors, axis=dim)


def stack(tensors, dim=0):
    """Join tensors of one shape along a new dimension ``dim``."""
    if not tensors:
        raise RuntimeError("stack needs at least one tensor")
    return Stack.apply(*tensors, axis=dim)


def to(x, device=None, dtype=None):
    """``x`` on another device and/or dtype (gradient flows back to the original)."""
    return To.apply(x, device=device, dtype=dtype)
