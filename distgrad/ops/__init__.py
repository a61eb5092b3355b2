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
from .comparison import (all, allclose, any, bitwise, count_nonzero, eq, equal, ge, gt, isclose,
                         isfinite, isinf, isnan, le, logical_and, logical_not, logical_or,
                         logical_xor, lt, ne, nonzero, unique)
from .indexing import argsort, gather, index_select, sort, topk
from .matrix import bmm, dot, mm, outer, t
from .pointwise import cos, log1p, reciprocal, rsqrt, sin, square
from .repeat import expand, repeat
from .rounding import ceil, divide, floor, floor_divide, remainder, round, sign, trunc
from .scan import cumsum, prod
from .selection import masked_fill, masked_select, maximum, minimum, where
from .slicing import chunk, flip, narrow, select, split, unbind
from .statistics import norm, std, var

__all__ = ["abs", "add", "argmax", "argmin", "clone", "max_dim", "min_dim", "cat", "clip", "div", "exp", "flatten", "getitem", "linear", "log", "matmul",
           "max", "mean", "min", "mul", "neg", "permute", "pow", "relu", "reshape", "sigmoid", "sqrt",
           "squeeze", "stack", "sub", "sum", "tanh", "to", "transpose", "unsqueeze",
           "adaptive_avg_pool2d", "avg_pool2d", "batch_norm", "conv2d", "cross_entropy", "dropout",
           "log_softmax", "max_pool2d", "mse_loss", "nll_loss", "softmax",
           "all", "allclose", "any", "bitwise", "count_nonzero", "eq", "equal", "ge", "gt",
           "isclose", "isfinite", "isinf", "isnan", "le", "logical_and", "logical_not",
           "logical_or", "logical_xor", "lt", "ne", "nonzero", "unique",
           "argsort", "gather", "index_select", "sort", "topk", "bmm", "dot", "mm", "outer", "t",
           "cos", "log1p", "reciprocal", "rsqrt", "sin", "square", "expand", "repeat",
           "ceil", "divide", "floor", "floor_divide", "remainder", "round", "sign", "trunc", "cumsum",
           "prod", "masked_fill", "masked_select", "maximum", "minimum", "where", "chunk", "flip", "narrow",
           "select", "split", "unbind", "norm", "std", "var"]
