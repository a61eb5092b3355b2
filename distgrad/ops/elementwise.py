"""Unary elementwise functions: exp, log, sqrt, abs, clip, relu, sigmoid, tanh."""
from .. import fused
from ..autograd.function import ArrayFunction
from ..backend import get_array_module


class Exp(ArrayFunction):
    def forward(self, x):
        y = get_array_module(x).exp(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        y, = self.saved_tensors
        return gy * y


class Log(ArrayFunction):
    def forward(self, x):
        self.save_for_backward(x)
        return get_array_module(x).log(x)

    def backward(self, gy):
        x, = self.saved_tensors
        return gy / x


class Sqrt(ArrayFunction):
    def forward(self, x):
        y = get_array_module(x).sqrt(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        y, = self.saved_tensors
        return gy / (2 * y)


class Abs(ArrayFunction):
    def forward(self, x):
        self.save_for_backward(x)
        return get_array_module(x).abs(x)

    def backward(self, gy):
        x, = self.saved_tensors
        return gy * get_array_module(x).sign(x)


class Clip(ArrayFunction):
    def forward(self, x, lo=None, hi=None):
        # The gradient passes where the value was not clipped (PyTorch's clamp convention:
        # boundary values keep their gradient).
        xp = get_array_module(x)
        self.mask = xp.ones(x.shape, dtype=bool)
        if lo is not None:
            self.mask &= x >= lo
        if hi is not None:
            self.mask &= x <= hi
        return xp.clip(x, lo, hi)

    def backward(self, gy):
        return gy * self.mask


class ReLU(ArrayFunction):
    def forward(self, x):
        y = get_array_module(x).maximum(x, 0)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        y, = self.saved_tensors
        return fused.relu_backward(gy, y)


class Sigmoid(ArrayFunction):
    def forward(self, x):
        # tanh form: no overflow warning for large |x|, unlike 1 / (1 + exp(-x)).
        xp = get_array_module(x)
        y = xp.tanh(x * 0.5)
        y *= 0.5
        y += 0.5
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        y, = self.saved_tensors
        return gy * y * (1 - y)


class Tanh(ArrayFunction):
    def forward(self, x):
        y = get_array_module(x).tanh(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        y, = self.saved_tensors
        return gy * (1 - y * y)


def exp(x):
    """Elementwise ``e**x``."""
    return Exp.apply(x)


def log(x):
    """Elementwise natural logarithm."""
    return Log.apply(x)


def sqrt(x):
    """Elementwise square root."""
    return Sqrt.apply(x)


def abs(x):
    """Elementwise absolute value (gradient 0 at 0, as in PyTorch)."""
    return Abs.apply(x)


def clip(x, lo=None, hi=None):
    """Limit to ``[lo, hi]`` (either may be None)."""
    if lo is None and hi is None:
        raise ValueError("clip() needs at least one of lo and hi")
    return Clip.apply(x, lo=lo, hi=hi)


def relu(x):
    """Elementwise ``max(x, 0)``."""
    return ReLU.apply(x)


def sigmoid(x):
    """Elementwise logistic function."""
    return Sigmoid.apply(x)


def tanh(x):
    """Elementwise hyperbolic tangent."""
    return Tanh.apply(x)
