"""distgrad: data-parallel deep learning in plain Python — PyTorch's API on NumPy/CuPy arrays,
with gradients averaged across MPI ranks while backward runs.

>>> import distgrad
>>> x = distgrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad
array([2., 4., 6.], dtype=float32)
"""
from . import backend, cuda
from .autograd import Function, Tensor, enable_grad, is_grad_enabled, no_grad
from .backend import (bool_, float16, float32, float64, get_array_module, get_default_dtype,
                      int32, int64, manual_seed)
from .creation import arange, full, ones, ones_like, rand, randn, tensor, zeros, zeros_like
from .ops import cat, stack
from . import data, nn, optim  # noqa: E402  (they build on everything above)
from .generator import Generator
from .serialization import load, save

__version__ = "0.1.0"

__all__ = ["Function", "Tensor", "arange", "backend", "bool_", "cat", "cuda", "enable_grad", "float16",
           "float32", "float64", "full", "get_array_module", "get_default_dtype", "int32",
           "data", "int64", "is_grad_enabled", "manual_seed", "nn", "no_grad", "ones", "optim", "rand", "randn",
           "ones_like", "stack", "tensor", "zeros", "zeros_like"]
__all__ += ["Generator", "load", "save"]
