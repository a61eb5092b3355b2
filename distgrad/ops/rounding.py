"""Piecewise-constant functions: ``sign``, ``floor``, ``ceil``, ``round``, ``trunc`` and
``floor_divide`` (gradient zero, as PyTorch's, where it exists), ``remainder``, and ``divide``
with PyTorch's ``rounding_mode``."""
import numbers

from ..autograd.function import ArrayFunction
from ..autograd.tensor import Tensor
from ..backend import get_array_module, get_default_dtype
from .arithmetic import div
from .broadcast import shape_of, unbroadcast


class Rounding(ArrayFunction):
    """One of NumPy's rounding functions by name; its derivative is zero wherever it exists."""

    def forward(self, x, name, decimals=0):
        self.shape = x.shape
        if name != "sign" and x.dtype.kind in "biu":
            return x.copy()  # integers are already whole; NumPy would turn them into floats
        if name == "round":
            return get_array_module(x).round(x, decimals)
        return getattr(get_array_module(x), name)(x)

    def backward(self, gy):
        return get_array_module(gy).zeros(self.shape, dtype=gy.dtype)


class FloorDivide(ArrayFunction):
    def forward(self, x, y):
        self.shapes = shape_of(x), shape_of(y)
        return get_array_module(x).floor_divide(x, y)

    def backward(self, gy):
        xp = get_array_module(gy)
        return tuple(xp.zeros(s, dtype=gy.dtype) if need else None
                     for s, need in zip(self.shapes, self.needs_input_grad))


class Remainder(ArrayFunction):
    def forward(self, x, y):
        # NumPy's remainder takes the divisor's sign, as Python's % and PyTorch's remainder do.
        xp = get_array_module(x)
        self.save_for_backward(x, y)
        return xp.remainder(x, y)

    def backward(self, gy):
        x, y = self.saved_tensors
        gx = unbroadcast(gy, shape_of(x)) if self.needs_input_grad[0] else None
        gd = None
        if self.needs_input_grad[1]:
            gd = unbroadcast(-gy * get_array_module(gy).floor_divide(x, y), shape_of(y))
        return gx, gd


def sign(x):
    """Elementwise -1, 0 or 1 by the sign of ``x``."""
    return Rounding.apply(x, name="sign")


def floor(x):
    """Elementwise largest integer not above ``x``."""
    return Rounding.apply(x, name="floor")


def ceil(x):
    """Elementwise smallest integer not below ``x``."""
    return Rounding.apply(x, name="ceil")


def round(x, decimals=0):
    """Round half to even (to ``decimals`` decimal places), as PyTorch."""
    return Rounding.apply(x, name="round", decimals=decimals)


def trunc(x):
    """Elementwise integer part (rounding toward zero)."""
    return Rounding.apply(x, name="trunc")


def floor_divide(a, b):
    """``a // b``: the quotient rounded down, as Python's and PyTorch's ``//``."""
    return FloorDivide.apply(a, b)


def remainder(a, b):
    """``a % b`` with the sign of ``b``, as Python's and PyTorch's ``%``."""
    return Remainder.apply(a, b)


def _integral(x):
    if isinstance(x, Tensor):
        return x.array.dtype.kind in "biu"
    return isinstance(x, numbers.Integral) or getattr(getattr(x, "dtype", None), "kind", "f") in "biu"


def divide(a, b, rounding_mode=None):
    """``a / b``: true division (integers give the default float dtype, as in PyTorch), or the
    quotient rounded with ``rounding_mode="floor"`` or ``"trunc"`` (toward zero)."""
    if rounding_mode == "floor":
        return floor_divide(a, b)
    if rounding_mode == "trunc":
        if not (_integral(a) and _integral(b)):
            return trunc(div(a, b))
        # Exact for integers of any size: floor, then one step toward zero where it overshot.
        xa, xb = (x.array if isinstance(x, Tensor) else x for x in (a, b))
        xp = get_array_module(xa)
        q = xp.floor_divide(xa, xb)
        q = q + ((q < 0) & (q * xb != xa))
        return Tensor._from_op(xp.asarray(q), None)
    if rounding_mode is not None:
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                           f"but found {rounding_mode!r}")
    if _integral(a) and _integral(b):
        a, b = (_as_float(x) for x in (a, b))
    return div(a, b)


def _as_float(x):
    if isinstance(x, numbers.Number):
        return x
    array = getattr(x, "array", x)
    return Tensor._from_op(get_array_module(array).asarray(array, dtype=get_default_dtype()), None)
