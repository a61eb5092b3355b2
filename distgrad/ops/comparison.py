"""Comparisons and logic: ``eq``/``ne``/``lt``/``le``/``gt``/``ge``, ``logical_*`` and the
bitwise operators, ``any``/``all``, ``isnan``..., ``equal``/``allclose``, ``nonzero``,
``count_nonzero``, ``unique``. Results are bool or int64 tensors outside the graph, as in
PyTorch."""
import numbers

import numpy

from ..autograd.tensor import Tensor, _compare
from ..backend import get_array_module
from .dims import dim_index, dim_tuple


def _array(x):
    return x.array if isinstance(x, Tensor) else x


def _wrap(array):
    return Tensor._from_op(get_array_module(array).asarray(array), None)


def compare(input, other, name):
    """``input <name> other`` elementwise (``name`` a NumPy comparison such as "less")."""
    out = _compare(input, other, name)
    if out is NotImplemented:
        raise TypeError(f"cannot compare a Tensor with a {type(other).__name__}: pass a Tensor "
                        f"or a number")
    return out


def eq(input, other):
    """Elementwise ``input == other`` as a bool tensor."""
    return compare(input, other, "equal")


def ne(input, other):
    """Elementwise ``input != other`` as a bool tensor."""
    return compare(input, other, "not_equal")


def lt(input, other):
    """Elementwise ``input < other`` as a bool tensor."""
    return compare(input, other, "less")


def le(input, other):
    """Elementwise ``input <= other`` as a bool tensor."""
    return compare(input, other, "less_equal")


def gt(input, other):
    """Elementwise ``input > other`` as a bool tensor."""
    return compare(input, other, "greater")


def ge(input, other):
    """Elementwise ``input >= other`` as a bool tensor."""
    return compare(input, other, "greater_equal")


def _logical(name, *operands):
    arrays = [_array(x) for x in operands]
    return _wrap(getattr(get_array_module(arrays[0]), name)(*arrays))


def logical_not(input):
    """Elementwise NOT of truth values (nonzero is True)."""
    return _logical("logical_not", input)


def logical_and(input, other):
    """Elementwise AND of truth values."""
    return _logical("logical_and", input, other)


def logical_or(input, other):
    """Elementwise OR of truth values."""
    return _logical("logical_or", input, other)


def logical_xor(input, other):
    """Elementwise XOR of truth values."""
    return _logical("logical_xor", input, other)


def bitwise(name, symbol, *operands):
    """``&``, ``|``, ``^``, ``~`` on bool (logic) or integer (bits) tensors, as PyTorch's."""
    arrays = [_array(x) for x in operands]
    for a in arrays:
        if hasattr(a, "dtype"):
            kind = a.dtype.kind
        else:
            kind = "i" if isinstance(a, numbers.Integral) else "f"  # bool is Integral too
        if kind not in "biu":
            raise TypeError(f"{symbol} is only implemented on integer and Boolean-type tensors, "
                            f"got {getattr(a, 'dtype', type(a).__name__)}")
    return _wrap(getattr(get_array_module(arrays[0]), name)(*arrays))


def any(input, dim=None, keepdim=False):
    """Whether any element (over ``dim``) is nonzero, as a bool tensor."""
    array = _array(input)
    return _wrap(array.any(axis=dim_tuple(dim, array.ndim), keepdims=bool(keepdim)))


def all(input, dim=None, keepdim=False):
    """Whether every element (over ``dim``) is nonzero, as a bool tensor."""
    array = _array(input)
    return _wrap(array.all(axis=dim_tuple(dim, array.ndim), keepdims=bool(keepdim)))


def isnan(input):
    """Elementwise: is the value NaN."""
    return _logical("isnan", input)


def isinf(input):
    """Elementwise: is the value +inf or -inf."""
    return _logical("isinf", input)


def isfinite(input):
    """Elementwise: is the value neither infinite nor NaN."""
    return _logical("isfinite", input)


def equal(input, other):
    """True when both tensors have the same shape and the same values."""
    a, b = _array(input), _array(other)
    return a.shape == b.shape and bool((a == b).all())


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True when ``|input - other| <= atol + rtol * |other|`` everywhere."""
    a, b = _array(input), _array(other)
    return bool(get_array_module(a).allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Elementwise ``|input - other| <= atol + rtol * |other|`` as a bool tensor."""
    a, b = _array(input), _array(other)
    return _wrap(get_array_module(a).isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def nonzero(input, as_tuple=False):
    """Indices of the nonzero elements: an int64 ``(count, ndim)`` tensor, or with
    ``as_tuple=True`` one 1-D index tensor per dimension."""
    array = _array(input)
    found = get_array_module(array).nonzero(array.reshape(1) if array.ndim == 0 else array)
    found = tuple(f.astype(numpy.int64, copy=False) for f in found)
    if as_tuple:
        return tuple(_wrap(f) for f in found)
    return _wrap(get_array_module(array).stack(found, axis=1) if array.ndim else
                 get_array_module(array).zeros((found[0].size, 0), dtype=numpy.int64))


def count_nonzero(input, dim=None):
    """Number of nonzero elements (over ``dim``), int64."""
    array = _array(input)
    return _wrap(get_array_module(array).asarray(
        (array != 0).sum(axis=dim_tuple(dim, array.ndim)), dtype=numpy.int64))


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values (or slices along ``dim``), ascending; optionally with, for each
    element, the position of its value (``return_inverse``) and how often each value occurs
    (``return_counts``)."""
    array = _array(input)
    xp = get_array_module(array)
    axis = None if dim is None else dim_index(dim, array.ndim)
    values, inverse, counts = xp.unique(array, return_inverse=True, return_counts=True, axis=axis)
    out = (_wrap(values),)
    if return_inverse:
        inverse = inverse.reshape(array.shape if axis is None else -1)
        out += (_wrap(inverse.astype(numpy.int64, copy=False)),)
    if return_counts:
        out += (_wrap(counts.astype(numpy.int64, copy=False)),)
    return out[0] if len(out) == 1 else out
