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

# nn's functional ops: activations, normalisation, lookups, padding, losses
from .activation import (elu, gelu, hardtanh, leaky_relu, logsigmoid, prelu, relu6, silu,
                         softplus)
from .channel_dropout import dropout1d, dropout2d, dropout3d
from .embedding import embedding, one_hot
from .layer_norm import group_norm, layer_norm
from .loss_probability import binary_cross_entropy, binary_cross_entropy_with_logits, kl_div
from .loss_regression import huber_loss, l1_loss, smooth_l1_loss
from .normalize import normalize
from .pad import pad
from .special import erf, erfc
__all__ += ["binary_cross_entropy", "binary_cross_entropy_with_logits", "dropout1d", "dropout2d",
            "dropout3d", "elu", "embedding", "erf", "erfc", "gelu", "group_norm", "hardtanh",
            "huber_loss", "kl_div", "l1_loss", "layer_norm", "leaky_relu", "logsigmoid",
            "normalize", "one_hot", "pad", "prelu", "relu6", "silu", "smooth_l1_loss", "softplus"]
# end of nn's functional ops

# Tensor methods' ops: comparisons, indexing and sorting, statistics, scans, repeats, slices
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
__all__ += ["all", "allclose", "any", "argsort", "bitwise", "bmm", "ceil", "chunk", "cos",
            "count_nonzero", "cumsum", "divide", "dot", "eq", "equal", "expand", "flip", "floor",
            "floor_divide", "gather", "ge", "gt", "index_select", "isclose", "isfinite", "isinf",
            "isnan", "le", "log1p", "logical_and", "logical_not", "logical_or", "logical_xor", "lt",
            "masked_fill", "masked_select", "maximum", "minimum", "mm", "narrow", "ne", "nonzero",
            "norm", "outer", "prod", "reciprocal", "remainder", "repeat", "round", "rsqrt",
            "select", "sign", "sin", "sort", "split", "square", "std", "t", "topk",
            "trunc", "unbind", "unique", "var", "where"]
# end of Tensor methods' ops
