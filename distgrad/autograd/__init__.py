"""Autograd: ``Tensor``, ``Function``, the iterative backward engine, hooks, ``no_grad``,
``gradcheck``."""
from .engine import queue_callback
from .function import Function, FunctionCtx, once_differentiable
from .functional_grad import grad
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import gradcheck
from .hooks import RemovableHandle
from .tensor import Tensor

__all__ = ["Function", "FunctionCtx", "Tensor", "enable_grad", "grad", "gradcheck",
           "inference_mode", "is_grad_enabled", "no_grad", "once_differentiable", "queue_callback",
           "RemovableHandle", "set_grad_enabled"]
