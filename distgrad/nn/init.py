"""Weight initialisation in place, with PyTorch's names, formulas and defaults.

Every function fills its Tensor outside the graph (as PyTorch's run under ``no_grad``) and
returns it. Samples come from distgrad's generator for the tensor's device (``manual_seed``
makes them reproducible), or from ``generator`` when one is given — a ``distgrad.Generator``
(or a ``numpy.random.Generator``; CuPy's for a tensor on a GPU).
"""
import math
import warnings

import numpy

from .. import backend
from ..generator import _numpy_rng
from ..ops.special import erfinv_array

_LINEAR_GAINS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                 "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for ``nonlinearity`` (PyTorch's table; ``param`` is leaky_relu's
    negative slope, 0.01 by default).

    >>> calculate_gain("relu")
    1.4142135623730951
    """
    if nonlinearity in _LINEAR_GAINS:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor):
    """``(fan_in, fan_out)``: input and output connections per unit of a weight shaped
    (out, in, *kernel)."""
    if tensor.ndim < 2:
        raise ValueError(f"fan in and fan out need a tensor with at least 2 dimensions, got shape "
                         f"{tuple(tensor.shape)}")
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower() if isinstance(mode, str) else mode
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _write(tensor, values):
    tensor.array[...] = values.astype(tensor.dtype, copy=False)
    return tensor


def _generator(tensor, generator):
    if generator is None:
        return backend.default_generator(tensor.device)
    if backend.get_array_module(tensor.array) is not numpy:
        return generator  # CuPy's generator, for a tensor on a GPU
    return _numpy_rng(generator, "nn.init")


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with samples from U(a, b)."""
    return _write(tensor, _generator(tensor, generator).uniform(a, b, tensor.shape))


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with samples from N(mean, std²)."""
    # CuPy's Generator has no normal(); mean + std * z is what NumPy's computes, bit for bit.
    return _write(tensor, mean + std * _generator(tensor, generator).standard_normal(tensor.shape))


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill with samples from N(mean, std²) truncated to [a, b] (bounds in absolute units, as
    PyTorch's): uniform samples between the bounds' CDF values mapped through the inverse
    normal CDF, so no sample is rejected however narrow the window."""
    xp = backend.get_array_module(tensor.array)
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. The "
                      "distribution of values may be incorrect.", stacklevel=2)
    cdf = [0.5 * (1 + math.erf((v - mean) / (std * math.sqrt(2)))) for v in (a, b)]
    u = _generator(tensor, generator).uniform(2 * cdf[0] - 1, 2 * cdf[1] - 1, tensor.shape)
    values = xp.clip(mean + std * math.sqrt(2) * erfinv_array(u), a, b)
    return _write(tensor, values)


def constant_(tensor, val):
    """Fill with ``val``."""
    tensor.array[...] = val
    return tensor


def ones_(tensor):
    """Fill with ones."""
    return constant_(tensor, 1)


def zeros_(tensor):
    """Fill with zeros."""
    return constant_(tensor, 0)


def eye_(tensor):
    """Fill a 2-D tensor with the identity (ones on the main diagonal of a rectangle)."""
    if tensor.ndim != 2:
        raise ValueError(f"eye_ needs a 2-dimensional tensor, got shape {tuple(tensor.shape)}")
    xp = backend.get_array_module(tensor.array)
    return _write(tensor, xp.eye(*tensor.shape))


def dirac_(tensor, groups=1):
    """Fill a 3-, 4- or 5-D convolution weight with the Dirac delta: the convolution passes
    each input channel through to one output channel (per group)."""
    if tensor.ndim not in (3, 4, 5):
        raise ValueError(f"dirac_ needs a 3, 4 or 5-dimensional tensor, got shape "
                         f"{tuple(tensor.shape)}")
    out_channels = tensor.shape[0]
    if out_channels % groups:
        raise ValueError(f"dirac_ got groups={groups} for {out_channels} output channels: "
                         f"dim 0 must be divisible by groups")
    per_group = out_channels // groups
    centre = tuple(n // 2 for n in tensor.shape[2:])
    tensor.array[...] = 0
    for g in range(groups):
        for d in range(min(per_group, tensor.shape[1])):
            tensor.array[(g * per_group + d, d) + centre] = 1
    return tensor


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Glorot initialisation, uniform: bound = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """Glorot initialisation, normal: std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def _kaiming_std(tensor, a, mode, nonlinearity):
    return calculate_gain(nonlinearity, a) / math.sqrt(_calculate_correct_fan(tensor, mode))


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He initialisation, uniform: bound = gain * sqrt(3 / fan), fan by ``mode``."""
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _calculate_correct_fan(tensor, mode))
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He initialisation, normal: std = gain / sqrt(fan), fan by ``mode``."""
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)


def orthogonal_(tensor, gain=1, generator=None):
    """Fill with a (semi-)orthogonal matrix (the trailing dimensions flattened), scaled by
    ``gain``: the Q of a Gaussian matrix's QR factorisation, signs fixed so it is uniformly
    distributed."""
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_ needs a tensor with at least 2 dimensions, got shape "
                         f"{tuple(tensor.shape)}")
    if tensor.size == 0:
        return tensor
    xp = backend.get_array_module(tensor.array)
    rows = tensor.shape[0]
    cols = tensor.size // rows
    flat = _generator(tensor, generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = xp.linalg.qr(flat)
    q *= xp.sign(xp.diagonal(r))  # makes the distribution uniform (Haar) over orthogonal Q
    if rows < cols:
        q = q.T
    return _write(tensor, (gain * q).reshape(tensor.shape))


def sparse_(tensor, sparsity, std=0.01, generator=None):
    """Fill a 2-D tensor from N(0, std²), then zero a fraction ``sparsity`` of each column."""
    if tensor.ndim != 2:
        raise ValueError(f"sparse_ needs a 2-dimensional tensor, got shape {tuple(tensor.shape)}")
    rows, cols = tensor.shape
    zeros = int(math.ceil(sparsity * rows))
    gen = _generator(tensor, generator)
    normal_(tensor, 0.0, std, gen)
    for c in range(cols):
        tensor.array[gen.permutation(rows)[:zeros], c] = 0
    return tensor


def default_layer_init_(weight, bias):
    """PyTorch's default for Linear and Conv2d: Kaiming-uniform with a=sqrt(5) for the weight
    (bound 1/sqrt(fan_in)) and U(±1/sqrt(fan_in)) for the bias."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = _calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        uniform_(bias, -bound, bound)
