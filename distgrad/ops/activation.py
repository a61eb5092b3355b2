"""Activation functions beyond relu/sigmoid/tanh, with PyTorch's formulas and gradients at the
kinks: leaky_relu, elu, gelu, silu, softplus, hardtanh, relu6, logsigmoid, prelu.

Each keeps its input (not its output) for backward wherever the output cannot give the
gradient back exactly.
"""
import math

from ..autograd.function import ArrayFunction
from ..backend import get_array_module
from .broadcast import unbroadcast
from .special import erfc_array


class LeakyReLU(ArrayFunction):
    def forward(self, x, negative_slope):
        self.save_for_backward(x)
        self.slope = negative_slope
        return get_array_module(x).where(x > 0, x, x * x.dtype.type(negative_slope))

    def backward(self, gy):
        x, = self.saved_tensors
        return get_array_module(x).where(x > 0, gy, gy * gy.dtype.type(self.slope))


class ELU(ArrayFunction):
    def forward(self, x, alpha):
        xp = get_array_module(x)
        # expm1 only where it is used: exp of a large positive x would overflow (and warn).
        neg = xp.minimum(x, 0)
        self.save_for_backward(x, neg)
        self.alpha = x.dtype.type(alpha)
        return xp.where(x > 0, x, self.alpha * xp.expm1(neg))

    def backward(self, gy):
        x, neg = self.saved_tensors
        xp = get_array_module(x)
        return gy * xp.where(x > 0, x.dtype.type(1), self.alpha * xp.exp(neg))


class GELU(ArrayFunction):
    def forward(self, x, approximate):
        xp = get_array_module(x)
        self.save_for_backward(x)
        self.approximate = approximate
        if approximate == "tanh":
            self.t = xp.tanh(_TANH_SCALE * (x + _TANH_CUBIC * x * x * x))
            return 0.5 * x * (1 + self.t)
        # x * Phi(x) with Phi = erfc(-x / sqrt 2) / 2: no 1 + erf(x) cancellation for x << 0.
        self.cdf = 0.5 * erfc_array(-x * x.dtype.type(_SQRT_HALF))
        return x * self.cdf

    def backward(self, gy):
        x, = self.saved_tensors
        xp = get_array_module(x)
        if self.approximate == "tanh":
            t = self.t
            inner = _TANH_SCALE * (1 + 3 * _TANH_CUBIC * x * x)
            return gy * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * inner)
        pdf = xp.exp(-0.5 * x * x) * x.dtype.type(1 / math.sqrt(2 * math.pi))
        return gy * (self.cdf + x * pdf)


_SQRT_HALF = math.sqrt(0.5)
_TANH_SCALE = math.sqrt(2 / math.pi)
_TANH_CUBIC = 0.044715


class SiLU(ArrayFunction):
    def forward(self, x):
        xp = get_array_module(x)
        s = xp.tanh(x * 0.5)  # sigmoid without overflow warnings, as ops.sigmoid
        s *= 0.5
        s += 0.5
        self.save_for_backward(x, s)
        return x * s

    def backward(self, gy):
        x, s = self.saved_tensors
        return gy * (s * (1 + x * (1 - s)))


class Softplus(ArrayFunction):
    def forward(self, x, beta, threshold):
        xp = get_array_module(x)
        z = x * x.dtype.type(beta)
        self.linear = z > threshold  # PyTorch's switch to the identity, for stability
        self.save_for_backward(z)
        soft = xp.log1p(xp.exp(xp.minimum(z, threshold))) / x.dtype.type(beta)
        return xp.where(self.linear, x, soft)

    def backward(self, gy):
        z, = self.saved_tensors
        xp = get_array_module(z)
        s = 0.5 + 0.5 * xp.tanh(0.5 * z)
        return gy * xp.where(self.linear, z.dtype.type(1), s)


class Hardtanh(ArrayFunction):
    def forward(self, x, min_val, max_val):
        xp = get_array_module(x)
        # PyTorch passes no gradient at the bounds themselves (unlike clamp).
        self.inside = (x > min_val) & (x < max_val)
        return xp.clip(x, min_val, max_val)

    def backward(self, gy):
        return gy * self.inside


class LogSigmoid(ArrayFunction):
    def forward(self, x):
        xp = get_array_module(x)
        self.save_for_backward(x)
        # log sigmoid(x) = min(x, 0) - log1p(exp(-|x|)): never exponentiates a large number.
        return xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, gy):
        x, = self.saved_tensors
        xp = get_array_module(x)
        return gy * (0.5 - 0.5 * xp.tanh(0.5 * x))  # sigmoid(-x)


class PReLU(ArrayFunction):
    def forward(self, x, weight):
        xp = get_array_module(x)
        w = weight.reshape(_channel_shape(x.ndim, weight.size))
        self.save_for_backward(x, w)
        self.weight_shape = weight.shape
        return xp.where(x > 0, x, w * x)

    def backward(self, gy):
        x, w = self.saved_tensors
        xp = get_array_module(x)
        positive = x > 0
        gx = xp.where(positive, gy, gy * w) if self.needs_input_grad[0] else None
        gw = None
        if self.needs_input_grad[1]:
            gw = unbroadcast(xp.where(positive, 0, gy * x), w.shape).reshape(self.weight_shape)
        return gx, gw


def _channel_shape(ndim, count):
    """The shape that puts ``count`` weights along dimension 1 (PyTorch's channel dimension)."""
    if ndim < 2 or count == 1:
        return (1,) * ndim if count == 1 else (count,)
    return (1, count) + (1,) * (ndim - 2)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """``x`` where positive, ``negative_slope * x`` elsewhere. ``inplace`` is accepted for
    PyTorch code; the result is always a new tensor."""
    return LeakyReLU.apply(input, negative_slope=float(negative_slope))


def elu(input, alpha=1.0, inplace=False):
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere."""
    return ELU.apply(input, alpha=float(alpha))


def gelu(input, approximate="none"):
    """``x * Phi(x)`` with Phi the standard normal CDF; ``approximate='tanh'`` uses
    ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`` instead."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu got approximate={approximate!r}: expected 'none' or 'tanh'")
    return GELU.apply(input, approximate=approximate)


def silu(input, inplace=False):
    """``x * sigmoid(x)`` (also called swish)."""
    return SiLU.apply(input)


def softplus(input, beta=1.0, threshold=20.0):
    """``log(1 + exp(beta * x)) / beta``, and ``x`` itself where ``beta * x > threshold``."""
    return Softplus.apply(input, beta=float(beta), threshold=float(threshold))


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """Clamp to ``[min_val, max_val]``; the gradient is 0 outside and at the bounds."""
    if min_val > max_val:
        raise ValueError(f"hardtanh got min_val={min_val} > max_val={max_val}")
    return Hardtanh.apply(input, min_val=min_val, max_val=max_val)


def relu6(input, inplace=False):
    """``min(max(x, 0), 6)``."""
    return hardtanh(input, 0.0, 6.0)


def logsigmoid(input):
    """``log(sigmoid(x))``, stable for inputs of any magnitude."""
    return LogSigmoid.apply(input)


def prelu(input, weight):
    """``x`` where positive, ``weight * x`` elsewhere; ``weight`` holds one slope or one per
    channel (dimension 1 of ``input``)."""
    count = weight.size
    channels = input.shape[1] if len(input.shape) >= 2 else 1
    if count not in (1, channels) or len(weight.shape) > 1:
        raise ValueError(f"prelu got weight of shape {tuple(weight.shape)} for input of shape "
                         f"{tuple(input.shape)}: expected 1 slope or {channels} (one per channel "
                         f"of dimension 1)")
    return PReLU.apply(input, weight)
