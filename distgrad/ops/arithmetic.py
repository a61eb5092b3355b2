"""Binary arithmetic with NumPy broadcasting: add, sub, mul, div, pow, and neg."""
from ..autograd.function import ArrayFunction
from ..backend import get_array_module
from .broadcast import operand_error, shape_of, unbroadcast


class Add(ArrayFunction):
    def forward(self, x, y):
        self.shapes = shape_of(x), shape_of(y)
        return x + y

    def backward(self, gy):
        sx, sy = self.shapes
        return (unbroadcast(gy, sx) if self.needs_input_grad[0] else None,
                unbroadcast(gy, sy) if self.needs_input_grad[1] else None)


class Sub(ArrayFunction):
    def forward(self, x, y):
        self.shapes = shape_of(x), shape_of(y)
        return x - y

    def backward(self, gy):
        sx, sy = self.shapes
        return (unbroadcast(gy, sx) if self.needs_input_grad[0] else None,
                unbroadcast(-gy, sy) if self.needs_input_grad[1] else None)


class Mul(ArrayFunction):
    def forward(self, x, y):
        self.save_for_backward(x, y)
        return x * y

    def backward(self, gy):
        x, y = self.saved_tensors
        return (unbroadcast(gy * y, shape_of(x)) if self.needs_input_grad[0] else None,
                unbroadcast(gy * x, shape_of(y)) if self.needs_input_grad[1] else None)


class Div(ArrayFunction):
    def forward(self, x, y):
        self.save_for_backward(x, y)
        return x / y

    def backward(self, gy):
        x, y = self.saved_tensors
        gx = gy / y
        return (unbroadcast(gx, shape_of(x)) if self.needs_input_grad[0] else None,
                unbroadcast(-gx * x / y, shape_of(y)) if self.needs_input_grad[1] else None)


class Pow(ArrayFunction):
    def forward(self, x, y):
        out = x ** y
        self.save_for_backward(x, y, out)
        return out

    def backward(self, gy):
        x, y, out = self.saved_tensors
        gx = gex = None
        if self.needs_input_grad[0]:
            gx = unbroadcast(gy * y * x ** (y - 1), shape_of(x))
        if self.needs_input_grad[1]:
            gex = unbroadcast(gy * out * get_array_module(out).log(x), shape_of(y))
        return gx, gex


class Neg(ArrayFunction):
    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


def _apply(op, symbol, a, b):
    # NumPy's complaints name ufuncs and casting rules; say it in the operator's words instead.
    # Only the failing call pays for the check.
    try:
        return op.apply(a, b)
    except (TypeError, ValueError) as error:
        raise operand_error(symbol, a, b) or error


def add(a, b):
    """``a + b`` with broadcasting."""
    return _apply(Add, "+", a, b)


def sub(a, b):
    """``a - b`` with broadcasting."""
    return _apply(Sub, "-", a, b)


def mul(a, b):
    """``a * b`` with broadcasting."""
    return _apply(Mul, "*", a, b)


def div(a, b):
    """``a / b`` with broadcasting."""
    return _apply(Div, "/", a, b)


def pow(a, b):
    """``a ** b``; the exponent may be a tensor too (then ``a`` must be positive)."""
    return _apply(Pow, "** or pow()", a, b)


def neg(a):
    """``-a``."""
    return Neg.apply(a)
