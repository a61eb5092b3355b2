"""distgrad: data-parallel deep learning in plain Python — PyTorch's API on NumPy/CuPy arrays,
with gradients averaged across MPI ranks while backward runs.

>>> import distgrad
>>> x = distgrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad
tensor([2., 4., 6.])
"""
from . import backend, cuda
from .autograd import Function, Tensor
from .ops import cat, stack
from .functions import *  # noqa: F401,F403  (distgrad.exp, distgrad.max, ...: functions.__all__)
from . import data, nn, optim  # noqa: E402  (they build on everything above)
from .generator import Generator
from .serialization import load, save

# --- PyTorch's top-level namespace: creation, dtypes, devices, grad modes, seeds, guard lines --
from . import accelerator, backends  # noqa: E402
from .autograd.grad_mode import (enable_grad, inference_mode, is_grad_enabled,  # noqa: E402
                                 no_grad, set_grad_enabled)
from .backend import device, get_array_module, initial_seed, manual_seed, seed  # noqa: E402
from .creation import (arange, as_tensor, empty, empty_like, eye, from_numpy, full,  # noqa: E402
                       full_like, is_floating_point, is_tensor, linspace, numel, ones, ones_like,
                       tensor, zeros, zeros_like)
from .dtypes import (bool_, cdouble, cfloat, complex64, complex128, double, dtype,  # noqa: E402
                     finfo, float16, float32, float64, get_default_dtype, half, iinfo, int8,
                     int16, int32, int64, long, promote_types, set_default_dtype, short, uint8)
# PyTorch's dtype names ``bool``, ``float`` and ``int`` shadow the builtins in this module only.
from .dtypes import bool, float, int  # noqa: E402,A004
from .printing import set_printoptions  # noqa: E402
from .sampling import rand, rand_like, randint, randn, randn_like, randperm  # noqa: E402
from .threads import get_num_threads, set_num_threads  # noqa: E402
from .missing import __getattr__  # noqa: E402

__version__ = "0.1.0"

# Scripts written for torchrun read RANK, LOCAL_RANK, WORLD_SIZE and LOCAL_WORLD_SIZE; under
# mpiexec or srun they are set here from the launcher's own variables (no MPI is started).
from .launcher import export_torchrun_environment as _export_torchrun_environment  # noqa: E402
_export_torchrun_environment()

__all__ = ["Function", "Generator", "Tensor", "backend", "cat", "cuda", "data", "load", "nn",
           "optim", "save", "stack"]
__all__ += ["accelerator", "arange", "as_tensor", "backends", "bool", "bool_", "cdouble", "cfloat",
            "complex64", "complex128", "device", "double", "dtype", "empty", "empty_like",
            "enable_grad", "eye", "finfo", "float", "float16", "float32", "float64",
            "from_numpy", "full", "full_like", "get_array_module", "get_default_dtype",
            "get_num_threads", "half", "iinfo", "inference_mode", "initial_seed", "int", "int8",
            "int16", "int32", "int64", "is_floating_point", "is_grad_enabled", "is_tensor",
            "linspace", "long", "manual_seed", "no_grad", "numel", "ones", "ones_like",
            "promote_types", "rand", "rand_like", "randint", "randn", "randn_like", "randperm",
            "seed", "set_default_dtype", "set_grad_enabled", "set_num_threads",
            "set_printoptions", "short", "tensor", "uint8", "zeros", "zeros_like"]
__all__ += functions.__all__  # noqa: F405  (the module-level math, one list kept in functions.py)
