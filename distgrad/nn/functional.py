"""``distgrad.nn.functional`` (``F``): the stateless forms of the layers, PyTorch's names.

Everything here is a differentiable op from ``distgrad.ops``; this module only gathers them
under the names PyTorch users reach for.
"""
from ..ops import linear, relu, sigmoid, tanh

__all__ = ["linear", "relu", "sigmoid", "tanh"]
