"""distgrad: data-parallel deep learning in plain Python — PyTorch's API on NumPy/CuPy arrays,
with gradients averaged across MPI ranks while backward runs.

>>> import distgrad
>>> x = distgrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad
tensor([2., 4., 6.])
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

# Scripts written for torchrun read RANK, LOCAL_RANK, WORLD_SIZE and LOCAL_WORLD_SIZE; under
# mpiexec or srun they are set here from the launcher's own variables (no MPI is started).
from .distributed.launcher import export_torchrun_environment as _export_torchrun_environment  # noqa: E402
_export_torchrun_environment()

__all__ = ["Function", "Tensor", "arange", "backend", "bool_", "cat", "cuda", "enable_grad", "float16",
           "float32", "float64", "full", "get_array_module", "get_default_dtype", "int32",
           "data", "int64", "is_grad_enabled", "manual_seed", "nn", "no_grad", "ones", "optim", "rand", "randn",
           "ones_like", "stack", "tensor", "zeros", "zeros_like"]
__all__ += ["Generator", "load", "save"]
