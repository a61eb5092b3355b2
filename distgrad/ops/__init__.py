"""Differentiable operations on Tensors, each a ``Function`` plus its lowercase functional form."""
from .arithmetic import add, div, mul, neg, pow, sub
from .elementwise import abs, clip, exp, log, relu, sigmoid, sqrt, tanh
from .linalg import linear, matmul
from .reduction import argmax, argmin, max, max_dim, mean, min, min_dim, sum
from .shape import (cat, clone, flatten, getitem, permute, reshape, squeeze, stack, to, transpose,
                    unsqueeze)
from .conv import conv2d
from .dropout import dropout
from .loss import cross_entropy, mse_loss, nll_loss
from .normalization import batch_norm
from .pooling import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from .softmax import log_softmax, softmax

__all__ = ["abs", "add", "argmax", "argmin", "clone", "max_dim", "min_dim", "cat", "clip", "div", "exp", "flatten", "getitem", "linear", "log", "matmul",
           "max", "mean", "min", "mul", "neg", "permute", "pow", "relu", "reshape", "sigmoid", "sqrt",
           "squeeze", "stack", "sub", "sum", "tanh", "to", "transpose", "unsqueeze",
           "adaptive_avg_pool2d", "avg_pool2d", "batch_norm", "conv2d", "cross_entropy", "dropout",
           "log_softmax", "max_pool2d", "mse_loss", "nll_loss", "softmax"]
