"""Choosing elementwise between two operands: ``where``, ``masked_fill``, ``maximum``,
``minimum``; the gradient goes to the operand that was chosen."""
import numbers

import numpy

from ..autograd.function import ArrayFunction
from ..autograd.tensor import Tensor
from ..backend import get_array_module, get_default_dtype
from .broadcast import shape_of, unbroadcast
from .repeat import expand
from .shape import getitem


class Where(ArrayFunction):
    def forward(self, condition, x, y):
        self.condition, self.shapes = condition, (shape_of(x), shape_of(y))
        return get_array_module(condition).where(condition, x, y)

    def backward(self, gy):
        (sx, sy), cond = self.shapes, self.condition
        return (None,
                unbroadcast(gy * cond, sx) if self.needs_input_grad[1] else None,
                unbroadcast(gy * ~cond, sy) if self.needs_input_grad[2] else None)


class Maximum(ArrayFunction):
    _pick = "maximum"

    def forward(self, x, y):
        self.save_for_backward(x, y)
        return getattr(get_array_module(x), self._pick)(x, y)

    def backward(self, gy):
        x, y = self.saved_tensors
        # Ties split the gradient in halves, as PyTorch's maximum/minimum do.
        share = ((x > y) if self._pick == "maximum" else (x < y)).astype(gy.dtype)
        share[x == y] = 0.5
        return (unbroadcast(gy * share, shape_of(x)) if self.needs_input_grad[0] else None,
                unbroadcast(gy * (1 - share), shape_of(y)) if self.needs_input_grad[1] else None)


class Minimum(Maximum):
    _pick = "minimum"


def bool_mask(name, mask):
    """The array of a bool ``mask``; any other dtype is an error, as in PyTorch."""
    array = mask.array if isinstance(mask, Tensor) else get_array_module(mask).asarray(mask)
    if array.dtype != numpy.bool_:
        raise RuntimeError(f"{name} only supports boolean masks, but got mask with dtype "
                           f"{array.dtype.name}: compare to get one, e.g. x > 0")
    return array


def where(condition, input, other):
    """Elementwise ``input`` where ``condition`` holds, else ``other``; either may be a number.

    >>> where(distgrad.tensor([1.0, -2.0]) > 0, distgrad.tensor([1.0, -2.0]), 0.0)
    tensor([1., 0.])
    """
    condition = bool_mask("where", condition)
    if isinstance(input, numbers.Number) and isinstance(other, numbers.Number):
        # Two Python numbers: PyTorch's default dtypes (float32 for floats, int64 for ints).
        floating = isinstance(input, float) or isinstance(other, float)
        dtype = get_default_dtype() if floating else numpy.int64
        xp = get_array_module(condition)
        input, other = xp.asarray(input, dtype=dtype), xp.asarray(other, dtype=dtype)
    return Where.apply(condition, input, other)


def masked_fill(x, mask, value):
    """``x`` with ``value`` (a number or a one-element tensor) where the boolean ``mask`` is
    True; ``mask`` broadcasts to ``x``'s shape."""
    mask = bool_mask("masked_fill", mask)
    if not isinstance(value, Tensor):
        value = get_array_module(x.array).asarray(value, dtype=x.dtype)
    elif value.array.ndim:
        raise RuntimeError(f"masked_fill only supports a 0-dimensional value tensor, but got "
                           f"one with {value.array.ndim} dimension(s)")
    elif value.dtype != x.dtype:
        value = value.to(dtype=x.dtype)
    shape = numpy.broadcast_shapes(mask.shape, x.shape)
    if shape != x.shape:
        raise RuntimeError(f"masked_fill: a mask of shape {mask.shape} does not broadcast to the "
                           f"tensor's shape {x.shape}")
    return Where.apply(mask, value, x)


def maximum(a, b):
    """Elementwise larger of ``a`` and ``b`` (ties share the gradient equally)."""
    return Maximum.apply(a, b)


def minimum(a, b):
    """Elementwise smaller of ``a`` and ``b`` (ties share the gradient equally)."""
    return Minimum.apply(a, b)


def masked_select(x, mask):
    """The elements of ``x`` where the bool ``mask`` is True (both broadcast), as a 1-D tensor."""
    mask = bool_mask("masked_select", mask)
    shape = numpy.broadcast_shapes(mask.shape, x.shape)
    if shape != x.shape:
        x = expand(x, shape)
    return getitem(x, get_array_module(mask).broadcast_to(mask, shape))
