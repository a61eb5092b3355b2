"""``distgrad.nn.functional`` (``F``): the stateless forms of the layers, PyTorch's names.

Everything here is a differentiable op from ``distgrad.ops``; this module gathers them under
the names PyTorch users reach for, with PyTorch's signatures (``inplace`` flags are accepted,
and the result is always a new tensor), plus the softmax family's implicit ``dim``.
"""
import warnings

from .. import ops
from ..ops import (adaptive_avg_pool2d, avg_pool2d, batch_norm, binary_cross_entropy,
                   binary_cross_entropy_with_logits, conv2d, cross_entropy, dropout1d, dropout2d,
                   dropout3d, elu, embedding, gelu, group_norm, hardtanh, huber_loss, kl_div,
                   l1_loss, layer_norm, leaky_relu, linear, logsigmoid, max_pool2d, mse_loss,
                   nll_loss, normalize, one_hot, pad, prelu, relu6, silu, smooth_l1_loss,
                   softplus)

__all__ = ["adaptive_avg_pool2d", "avg_pool2d", "batch_norm", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "conv2d", "cross_entropy", "dropout", "dropout1d",
           "dropout2d", "dropout3d", "elu", "embedding", "gelu", "group_norm", "hardtanh",
           "huber_loss", "kl_div", "l1_loss", "layer_norm", "leaky_relu", "linear",
           "log_softmax", "logsigmoid", "max_pool2d", "mse_loss", "nll_loss", "normalize",
           "one_hot", "pad", "prelu", "relu", "relu6", "sigmoid", "silu", "smooth_l1_loss",
           "softmax", "softmin", "softplus", "tanh"]


def relu(input, inplace=False):
    """Elementwise ``max(x, 0)``."""
    return ops.relu(input)


def sigmoid(input):
    """Elementwise logistic function."""
    return ops.sigmoid(input)


def tanh(input):
    """Elementwise hyperbolic tangent."""
    return ops.tanh(input)


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)`` (the
    identity when not ``training``)."""
    return ops.dropout(input, p, training)


def _implicit_dim(name, ndim, stacklevel):
    # PyTorch's historical choice, kept with its deprecation warning: dim 0 for 0-, 1- and 3-D
    # input (a vector, or one unbatched (C, H, W) image), else dim 1 (batched (N, C, ...)).
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  f"to include dim=X as an argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def _prepared(name, input, dim, stacklevel, dtype):
    if dim is None:
        dim = _implicit_dim(name, len(input.shape), stacklevel + 1)
    if dtype is not None:
        input = ops.to(input, dtype=dtype)
    return input, dim


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """``exp(x) / sum(exp(x))`` along ``dim``; without ``dim``, PyTorch's implicit choice (with
    its warning). ``dtype`` casts the input first."""
    input, dim = _prepared("softmax", input, dim, _stacklevel, dtype)
    return ops.softmax(input, dim)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """``log(softmax(x))`` along ``dim``, computed stably; ``dim`` and ``dtype`` as in
    ``softmax``."""
    input, dim = _prepared("log_softmax", input, dim, _stacklevel, dtype)
    return ops.log_softmax(input, dim)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """``softmax(-x)`` along ``dim``; ``dim`` and ``dtype`` as in ``softmax``."""
    input, dim = _prepared("softmin", input, dim, _stacklevel, dtype)
    return ops.softmax(ops.neg(input), dim)
