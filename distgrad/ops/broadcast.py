"""Broadcasting: reducing a gradient back to the shape of an operand that NumPy broadcast in
forward, and saying in PyTorch's words why two operands do not go together."""
import numbers

import numpy


def unbroadcast(grad, shape):
    """Sum ``grad`` over the axes along which an operand of ``shape`` was broadcast."""
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def shape_of(x):
    """Shape of an operand that may be a Python number."""
    return getattr(x, "shape", ())


def mismatch(shape_a, shape_b):
    """PyTorch's message for shapes that do not broadcast, or None when they do."""
    ndim = max(len(shape_a), len(shape_b))
    a = (1,) * (ndim - len(shape_a)) + tuple(shape_a)
    b = (1,) * (ndim - len(shape_b)) + tuple(shape_b)
    for dim in range(ndim - 1, -1, -1):
        if a[dim] != b[dim] and 1 not in (a[dim], b[dim]):
            return (f"The size of tensor a ({a[dim]}) must match the size of tensor b ({b[dim]}) "
                    f"at non-singleton dimension {dim}: shapes {tuple(shape_a)} and "
                    f"{tuple(shape_b)} do not broadcast")
    return None


def operand_error(symbol, a, b):
    """The error PyTorch gives for ``a <symbol> b`` when NumPy refused it: a TypeError for an
    operand that is not a number, tensor or array, a RuntimeError for shapes that do not
    broadcast; None when neither explains the failure."""
    for x in (a, b):
        if not (isinstance(x, numbers.Number) or hasattr(x, "shape")):
            return TypeError(f"unsupported operand type(s) for {symbol}: '{type(a).__name__}' "
                             f"and '{type(b).__name__}'")
        if getattr(x, "dtype", None) is not None and numpy.dtype(x.dtype).kind not in "biufc":
            return TypeError(f"unsupported operand dtype for {symbol}: {numpy.dtype(x.dtype)}")
    message = mismatch(shape_of(a), shape_of(b))
    return RuntimeError(message) if message else None
