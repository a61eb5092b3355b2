"""Differentiable operations on Tensors, each a ``Function`` plus its lowercase functional form."""
from .arithmetic import add, div, mul, neg, pow, sub
from .elementwise import abs, clip, exp, log, relu, sigmoid, sqrt, tanh
from .linalg import linear, matmul
from .reduction import max, mean, sum
from .shape import flatten, getitem, permute, reshape, squeeze, to, transpose, unsqueeze

__all__ = ["abs", "add", "clip", "div", "exp", "flatten", "getitem", "linear", "log", "matmul",
           "max", "mean", "mul", "neg", "permute", "pow", "relu", "reshape", "sigmoid", "sqrt",
           "squeeze", "sub", "sum", "tanh", "to", "transpose", "unsqueeze"]
