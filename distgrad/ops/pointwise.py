"""More elementwise functions: ``sin``, ``cos``, ``log1p``, and ``reciprocal``, ``rsqrt``,
``square`` composed from the arithmetic ops."""
from ..autograd.function import ArrayFunction
from ..backend import get_array_module
from .arithmetic import div, mul
from .elementwise import sqrt


class Sin(ArrayFunction):
    def forward(self, x):
        self.save_for_backward(x)
        return get_array_module(x).sin(x)

    def backward(self, gy):
        x, = self.saved_tensors
        return gy * get_array_module(x).cos(x)


class Cos(ArrayFunction):
    def forward(self, x):
        self.save_for_backward(x)
        return get_array_module(x).cos(x)

    def backward(self, gy):
        x, = self.saved_tensors
        return -gy * get_array_module(x).sin(x)


class Log1p(ArrayFunction):
    def forward(self, x):
        # log1p keeps the digits of log(1 + x) that 1 + x would round away for tiny x.
        self.save_for_backward(x)
        return get_array_module(x).log1p(x)

    def backward(self, gy):
        x, = self.saved_tensors
        return gy / (1 + x)


def sin(x):
    """Elementwise sine."""
    return Sin.apply(x)


def cos(x):
    """Elementwise cosine."""
    return Cos.apply(x)


def log1p(x):
    """Elementwise ``log(1 + x)``, accurate for small ``x``."""
    return Log1p.apply(x)


def reciprocal(x):
    """Elementwise ``1 / x``."""
    return div(1.0, x)


def rsqrt(x):
    """Elementwise ``1 / sqrt(x)``."""
    return div(1.0, sqrt(x))


def square(x):
    """Elementwise ``x * x``."""
    return mul(x, x)
