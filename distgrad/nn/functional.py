"""``distgrad.nn.functional`` (``F``): the stateless forms of the layers, PyTorch's names.

Everything here is a differentiable op from ``distgrad.ops``; this module only gathers them
under the names PyTorch users reach for.
"""
from ..ops import (adaptive_avg_pool2d, avg_pool2d, batch_norm, conv2d, cross_entropy, dropout,
                   linear, log_softmax, max_pool2d, mse_loss, nll_loss, relu, sigmoid, softmax, tanh)

__all__ = ["adaptive_avg_pool2d", "avg_pool2d", "batch_norm", "conv2d", "cross_entropy", "dropout",
           "linear", "log_softmax", "max_pool2d", "mse_loss", "nll_loss", "relu", "sigmoid",
           "softmax", "tanh"]
