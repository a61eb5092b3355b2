"""Activation layers: ``ReLU``, ``Sigmoid``, ``Tanh``, ``LeakyReLU``, ``ELU``, ``GELU``, ``SiLU``,
``Softplus``, ``Hardtanh``, ``ReLU6``, ``LogSigmoid``, ``PReLU``, and the softmax family.

``inplace`` flags are accepted for PyTorch code (and shown in the repr as PyTorch does); the
result is always a new tensor, since the graph needs the input's value.
"""
from .. import backend
from . import functional as F
from .module import Module
from .parameter import Parameter


class _Elementwise(Module):
    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class ReLU(_Elementwise):
    """Elementwise max(x, 0)."""

    def forward(self, input):
        return F.relu(input)


class ReLU6(_Elementwise):
    """Elementwise min(max(x, 0), 6)."""

    def forward(self, input):
        return F.relu6(input)


class SiLU(_Elementwise):
    """Elementwise ``x * sigmoid(x)``."""

    def forward(self, input):
        return F.silu(input)


class Sigmoid(Module):
    """Elementwise logistic function."""

    def forward(self, input):
        return F.sigmoid(input)


class Tanh(Module):
    """Elementwise hyperbolic tangent."""

    def forward(self, input):
        return F.tanh(input)


class LogSigmoid(Module):
    """Elementwise ``log(sigmoid(x))``, stable for any input."""

    def forward(self, input):
        return F.logsigmoid(input)


class LeakyReLU(Module):
    """``x`` where positive, ``negative_slope * x`` elsewhere."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input):
        return F.elu(input, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class GELU(Module):
    """``x * Phi(x)`` (Phi the standard normal CDF), or its tanh approximation with
    ``approximate='tanh'``."""

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU got approximate={approximate!r}: expected 'none' or 'tanh'")
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """``log(1 + exp(beta x)) / beta``, linear where ``beta x > threshold``."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(Module):
    """Clamp to ``[min_val, max_val]`` (no gradient at or beyond the bounds)."""

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        if min_val > max_val:
            raise ValueError(f"Hardtanh got min_val={min_val} > max_val={max_val}")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input):
        return F.hardtanh(input, self.min_val, self.max_val)

    def extra_repr(self):
        return (f"min_val={self.min_val}, max_val={self.max_val}"
                + (", inplace=True" if self.inplace else ""))


class PReLU(Module):
    """LeakyReLU with a learned slope: one shared (``num_parameters=1``) or one per channel."""

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters, self.init = num_parameters, init
        xp = backend.array_module_for(device)
        self.weight = Parameter(xp.full(num_parameters, init, dtype=dtype or
                                        backend.get_default_dtype()))

    def reset_parameters(self):
        """Set every slope back to ``init``."""
        self.weight.array[...] = self.init

    def forward(self, input):
        return F.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class _AlongDim(Module):
    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        # dim=None keeps PyTorch's implicit choice and warning; the stack level points the
        # warning at the line that called the module.
        return self._function(input, self.dim, _stacklevel=5)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmax(_AlongDim):
    """Softmax along ``dim`` (PyTorch's implicit choice, with a warning, when None)."""
    _function = staticmethod(F.softmax)


class LogSoftmax(_AlongDim):
    """Log-softmax along ``dim`` (PyTorch's implicit choice, with a warning, when None)."""
    _function = staticmethod(F.log_softmax)


class Softmin(_AlongDim):
    """``softmax(-x)`` along ``dim`` (PyTorch's implicit choice, with a warning, when None)."""
    _function = staticmethod(F.softmin)
