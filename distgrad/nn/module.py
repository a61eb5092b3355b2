"""``Module``: the base of every layer and model, with PyTorch's registration semantics.

Assigning a Parameter, a Module or (via ``register_buffer``) a buffer to an attribute records
it, so ``parameters()``, ``state_dict()`` and ``to()`` find everything in a fixed order.
"""
from collections import OrderedDict

import numpy

from .. import backend
from ..autograd.hooks import RemovableHandle
from ..autograd.tensor import Tensor
from .module_conversion import to_arguments
from .module_state import IncompatibleKeys, StateDictError, load_state_dict, state_items
from .parameter import Parameter

__all__ = ["IncompatibleKeys", "Module", "StateDictError"]


def _indent(text, spaces):
    """``text`` with every line after the first indented (blank lines stay empty)."""
    first, *rest = text.split("\n")
    return "\n".join([first] + [" " * spaces + line if line.strip() else "" for line in rest])


def _check_name(kind, name):
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
    if not name or "." in name:
        raise KeyError(f"{kind} name {name!r} can't be empty or contain \".\"")


def _buffer_tensor(name, tensor):
    if tensor is None or isinstance(tensor, Tensor):
        return tensor
    if isinstance(tensor, numpy.ndarray) or backend.get_array_module(tensor) is not numpy:
        return Tensor(tensor)
    raise TypeError(f"cannot assign a {type(tensor).__name__} to buffer {name!r} (a Tensor, a "
                    f"backend array or None is required)")


class Module:
    """Base class for layers and models: subclass, assign layers in ``__init__``, define
    ``forward``.

    >>> class Net(Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc = Linear(4, 2)
    ...     def forward(self, x):
    ...         return self.fc(x).relu()
    """

    def __init__(self):
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", [])
        object.__setattr__(self, "_forward_pre_hooks", [])

    # --- registration ---------------------------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {name!r} before Module.__init__() is called "
                                 "(call super().__init__() first)")
        params, buffers, modules = self._parameters, self._buffers, self._modules
        if isinstance(value, Parameter):
            self.__dict__.pop(name, None)
            buffers.pop(name, None)
            modules.pop(name, None)
            self._non_persistent.discard(name)
            params[name] = value
        elif isinstance(value, Module):
            self.__dict__.pop(name, None)
            params.pop(name, None)
            buffers.pop(name, None)
            self._non_persistent.discard(name)
            modules[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as parameter {name!r} "
                                "(a Parameter or None is required)")
            params[name] = None
        elif name in buffers:
            buffers[name] = _buffer_tensor(name, value)
        elif name in modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as child module {name!r} "
                                "(a Module or None is required)")
            modules[name] = None
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        # Only called when normal lookup fails: parameters, buffers and submodules live here.
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                self._non_persistent.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))

    def register_parameter(self, name, param):
        """Add a parameter (a ``Parameter`` or None) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() is called")
        _check_name("parameter", name)
        if name not in self._parameters and hasattr(self, name):
            raise KeyError(f"attribute {name!r} already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter({name!r}) needs a Parameter or None, got "
                            f"{type(param).__name__}")
        if param is not None and param.grad_fn is not None:
            raise ValueError(f"cannot assign the non-leaf Tensor {name!r} as a parameter: "
                             f"parameters must be created explicitly (Parameter(t.detach()))")
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Add a buffer: state that is saved and moved with the module but not learned
        (BatchNorm's running statistics). ``tensor`` may be a Tensor, a backend array or None;
        a non-``persistent`` buffer is left out of ``state_dict``."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() is called")
        _check_name("buffer", name)
        if name not in self._buffers and hasattr(self, name):
            raise KeyError(f"attribute {name!r} already exists")
        self._buffers[name] = _buffer_tensor(name, tensor)
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def add_module(self, name, module):
        """Add a child module (or None) under ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module({name!r}) needs a Module, got {type(module).__name__}")
        _check_name("module", name)
        if name not in self._modules and hasattr(self, name):
            raise KeyError(f"attribute {name!r} already exists")
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target):
        """The submodule at the dotted path ``target`` (``""`` is this module)."""
        module = self
        for item in target.split(".") if target else []:
            if not hasattr(module, item):
                raise AttributeError(f"{module._get_name()} has no attribute `{item}`")
            child = getattr(module, item)
            if not isinstance(child, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
            module = child
        return module

    def _get_member(self, target, store, kind):
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if name not in getattr(module, store):
            if hasattr(module, name):
                raise AttributeError(f"`{name}` is not an nn.{kind}")
            raise AttributeError(f"{module._get_name()} has no attribute `{name}`")
        return getattr(module, store)[name]

    def get_parameter(self, target):
        """The parameter at the dotted path ``target`` (e.g. ``"0.weight"``)."""
        return self._get_member(target, "_parameters", "Parameter")

    def get_buffer(self, target):
        """The buffer at the dotted path ``target`` (e.g. ``"bn.running_mean"``)."""
        return self._get_member(target, "_buffers", "Buffer")

    # --- traversal ------------------------------------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """Yield ``(name, module)`` for this module and every descendant (a module reached
        twice is yielded once unless ``remove_duplicate`` is False)."""
        memo = set() if memo is None else memo
        if remove_duplicate:
            if self in memo:
                return
            memo.add(self)
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(memo, f"{prefix}.{name}" if prefix else name,
                                               remove_duplicate)

    def modules(self):
        """Every module in the tree, this one first."""
        return (m for _, m in self.named_modules())

    def named_children(self):
        """Yield ``(name, module)`` for the direct children."""
        seen = set()
        for name, m in self._modules.items():
            if m is not None and m not in seen:
                seen.add(m)
                yield name, m

    def children(self):
        """The direct children."""
        return (m for _, m in self.named_children())

    def _named_members(self, store, prefix, recurse, remove_duplicate):
        seen = set()
        modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                   if recurse else [(prefix, self)])
        for mod_prefix, module in modules:
            for name, value in getattr(module, store).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """Yield ``(name, parameter)`` in registration order, shared parameters once;
        ``recurse=False`` gives this module's own only."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        """Every parameter, in registration order."""
        return (p for _, p in self.named_parameters(recurse=recurse))

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        """Yield ``(name, buffer)`` (buffers are Tensors without grad)."""
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        """Every buffer."""
        return (b for _, b in self.named_buffers(recurse=recurse))

    # --- modes and calls ------------------------------------------------------------------
    def train(self, mode=True):
        """Set training mode (dropout active, batch statistics) on this module and its children."""
        if not isinstance(mode, bool):
            raise ValueError(f"training mode is expected to be boolean, got {mode!r}")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self):
        """Same as ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Switch gradient recording for every parameter."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Reset every parameter's gradient (to None by default, as PyTorch)."""
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.array[...] = 0

    def apply(self, fn):
        """Call ``fn(module)`` on every child (depth first) then on this module; returns self.

        >>> model.apply(lambda m: init.zeros_(m.bias) if isinstance(m, Linear) else None)
        """
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def forward(self, *args, **kwargs):
        """Define the computation (override in subclasses)."""
        raise TypeError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        for hook in self._forward_pre_hooks:
            out = hook(self, args)
            if out is not None:
                args = out if isinstance(out, tuple) else (out,)
        result = self.forward(*args, **kwargs)
        for hook in self._forward_hooks:
            out = hook(self, args, result)
            if out is not None:
                result = out
        return result

    def register_forward_pre_hook(self, hook):
        """``hook(module, args)`` before forward; may return replacement args."""
        self._forward_pre_hooks.append(hook)
        return RemovableHandle(self._forward_pre_hooks, hook)

    def register_forward_hook(self, hook):
        """``hook(module, args, output)`` after forward; may return a replacement output."""
        self._forward_hooks.append(hook)
        return RemovableHandle(self._forward_hooks, hook)

    # --- devices and dtypes ---------------------------------------------------------------
    def to(self, *args, **kwargs):
        """Move and/or cast every parameter and buffer in place; returns self.

        As PyTorch: ``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(tensor)`` (its
        device and dtype), keywords ``device=``, ``dtype=``, ``non_blocking=`` (accepted). Only
        floating-point state is cast, and only to a floating-point dtype.
        """
        device, dtype = to_arguments(args, kwargs)
        return self._convert(device, dtype)

    def _convert(self, device, dtype):
        for t in list(self.parameters()) + list(self.buffers()):
            data = t.array if device is None else backend.to_device(t.array, device)
            if dtype is not None and data.dtype.kind == "f":
                data = data.astype(dtype)
            t.array = data
            if t.grad is not None:
                t.grad.array = backend.to_device(t.grad.array, backend.device_of(data)).astype(
                    data.dtype)
        return self

    def cpu(self):
        """Same as ``to("cpu")``."""
        return self.to("cpu")

    def cuda(self, device=None):
        """Same as ``to("cuda")`` (or ``"cuda:device"``)."""
        return self.to("cuda" if device is None else
                       f"cuda:{device}" if isinstance(device, int) else device)

    def float(self):
        """Cast floating-point parameters and buffers to float32."""
        return self._convert(None, numpy.dtype(numpy.float32))

    def double(self):
        """Cast floating-point parameters and buffers to float64."""
        return self._convert(None, numpy.dtype(numpy.float64))

    def half(self):
        """Cast floating-point parameters and buffers to float16."""
        return self._convert(None, numpy.dtype(numpy.float16))

    # --- state ----------------------------------------------------------------------------
    def state_dict(self, *, destination=None, prefix="", keep_vars=False):
        """An ordered dict of every parameter and persistent buffer under PyTorch's keys
        (``"0.weight"``, ``"fc.bias"``, ``"bn.running_mean"``, ...).

        As in PyTorch the values are detached Tensors sharing memory with the module (the
        parameters themselves with ``keep_vars=True``): copy them (``copy.deepcopy``,
        ``t.clone()``) to keep a snapshot while training goes on.
        """
        out = OrderedDict() if destination is None else destination
        for key, t in state_items(self):
            out[prefix + key] = t if keep_vars else t.detach()
        return out

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy values (Tensors or arrays) from ``state_dict`` into the parameters and buffers.

        Everything is checked before anything is written, so a failed load leaves the module
        unchanged. With ``strict``, missing or unexpected keys are an error; shapes must always
        match. Values are copied in place unless ``assign``, where the module takes the loaded
        arrays as its storage. Returns ``IncompatibleKeys(missing_keys, unexpected_keys)``.
        """
        return load_state_dict(self, state_dict, strict, assign)

    # --- printing -------------------------------------------------------------------------
    def _get_name(self):
        return type(self).__name__

    def extra_repr(self):
        """Extra text inside this module's repr (override; may span lines)."""
        return ""

    def __repr__(self):
        # PyTorch's layout: a one-line extra_repr stays inline, anything else goes one item
        # per line, children as "(name): repr" indented by two spaces.
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        children = [f"({name}): " + _indent(repr(m), 2) for name, m in self._modules.items()]
        if not children and len(lines) <= 1:
            return f"{self._get_name()}({extra})"
        return f"{self._get_name()}(\n  " + "\n  ".join(lines + children) + "\n)"

