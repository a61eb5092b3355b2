"""Autograd: ``Tensor``, ``Function``, the iterative backward engine, hooks, ``no_grad``,
``gradcheck``."""
from .engine import queue_callback
from .function import Function, FunctionCtx, once_differentiable
from .functional_grad import grad
from .grad_mode import enable_grad, is_grad_enabled, no_grad
from .gradcheck import gradcheck
from .hooks import RemovableHandle
from .tensor import Tensor

__all__ = ["Function", "FunctionCtx", "Tensor", "enable_grad", "grad", "gradcheck",
           "is_grad_enabled", "no_grad", "once_differentiable", "queue_callback", "RemovableHandle"]
