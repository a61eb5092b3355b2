"""``Module``: the base of every layer and model, with PyTorch's registration semantics.

Assigning a Parameter, a Module or (via ``register_buffer``) a buffer to an attribute records
it, so ``parameters()``, ``state_dict()`` and ``to()`` find everything in a fixed order.
"""
from collections import OrderedDict, namedtuple

from .. import backend
from ..autograd.hooks import RemovableHandle
from ..autograd.tensor import Tensor
from .parameter import Parameter

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class StateDictError(ValueError, RuntimeError):
    """A state_dict that does not fit the module (missing/unexpected keys, wrong shapes).

    A ValueError for distgrad's contract and a RuntimeError as PyTorch raises."""


def _host(value):
    """A NumPy array from a NumPy/CuPy array, a distgrad Tensor or a torch tensor."""
    if isinstance(value, Tensor):
        value = value.array
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        value = value.detach().cpu().numpy()
    return backend.to_numpy(value)


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
            params[name] = value
        elif isinstance(value, Module):
            self.__dict__.pop(name, None)
            params.pop(name, None)
            buffers.pop(name, None)
            modules[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as parameter {name!r} "
                                "(a Parameter or None is required)")
            params[name] = None
        elif name in buffers:
            buffers[name] = None if value is None else (
                value if isinstance(value, Tensor) else Tensor(value))
        elif name in modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as child module {name!r}")
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
                return
        object.__delattr__(self, name)

    def register_parameter(self, name, param):
        """Add a parameter (a ``Parameter`` or None) under ``name``."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter({name!r}) needs a Parameter or None, got "
                            f"{type(param).__name__}")
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Add a buffer: state that is saved and moved with the module but not learned
        (BatchNorm's running statistics). ``tensor`` may be an array, a Tensor or None."""
        if name in self._parameters or name in self._modules:
            raise KeyError(f"attribute {name!r} already exists")
        self._buffers[name] = None if tensor is None else (
            tensor if isinstance(tensor, Tensor) else Tensor(tensor))
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name, module):
        """Add a child module under ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module({name!r}) needs a Module, got {type(module).__name__}")
        self._modules[name] = module

    # --- traversal ------------------------------------------------------------------------
    def named_modules(self, memo=None, prefix=""):
        """Yield ``(name, module)`` for this module and every descendant, each once."""
        memo = set() if memo is None else memo
        if self in memo:
            return
        memo.add(self)
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(memo, f"{prefix}.{name}" if prefix else name)

    def modules(self):
        """Every module in the tree, this one first."""
        return (m for _, m in self.named_modules())

    def named_children(self):
        """Yield ``(name, module)`` for the direct children."""
        return ((n, m) for n, m in self._modules.items() if m is not None)

    def children(self):
        """The direct children."""
        return (m for _, m in self.named_children())

    def _named_members(self, store, prefix, recurse):
        seen = set()
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mod_prefix, module in modules:
            for name, value in getattr(module, store).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), value

    def named_parameters(self, prefix="", recurse=True):
        """Yield ``(name, parameter)`` in registration order, shared parameters once."""
        return self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse=True):
        """Every parameter, in registration order."""
        return (p for _, p in self.named_parameters(recurse=recurse))

    def named_buffers(self, prefix="", recurse=True):
        """Yield ``(name, buffer)`` (buffers are Tensors without grad)."""
        return self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse=True):
        """Every buffer."""
        return (b for _, b in self.named_buffers(recurse=recurse))

    # --- modes and calls ------------------------------------------------------------------
    def train(self, mode=True):
        """Set training mode (dropout active, batch statistics) on this module and its children."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
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
                p.grad.zero_()

    def apply(self, fn):
        """Call ``fn(module)`` on every child (depth first) then on this module."""
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

    # --- devices --------------------------------------------------------------------------
    def to(self, device=None, dtype=None):
        """Move (or cast) every parameter and buffer in place; returns self. Floating-point
        state only is cast; ``model.to(distgrad.float64)`` works too."""
        device, dtype = backend.device_and_dtype(device, dtype)
        for t in list(self.parameters()) + list(self.buffers()):
            data = t.array if device is None else backend.to_device(t.array, device)
            if dtype is not None and data.dtype.kind == "f":
                data = data.astype(dtype)
            t.array = data
            if t.grad is not None:
                t.grad.array = backend.to_device(t.grad.array, backend.device_of(data)).astype(data.dtype)
        return self

    def cpu(self):
        """Same as ``to("cpu")``."""
        return self.to("cpu")

    def cuda(self, index=None):
        """Same as ``to("cuda")``."""
        return self.to("cuda" if index is None else f"cuda:{index}")

    # --- state ----------------------------------------------------------------------------
    def _state_items(self):
        """``(key, tensor)`` of everything state_dict holds, in PyTorch's order: each module's
        own parameters, then its persistent buffers, then its children."""
        for prefix, module in self.named_modules():
            for name, p in module._parameters.items():
                if p is not None:
                    yield (f"{prefix}.{name}" if prefix else name), p
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent:
                    yield (f"{prefix}.{name}" if prefix else name), b

    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """An ordered dict of every parameter and persistent buffer under PyTorch's keys
        (``"0.weight"``, ``"fc.bias"``, ``"bn.running_mean"``, ...).

        As in PyTorch the values are detached Tensors sharing memory with the module (the
        parameters themselves with ``keep_vars=True``): copy them (``copy.deepcopy``,
        ``t.clone()``) to keep a snapshot while training goes on.
        """
        out = OrderedDict() if destination is None else destination
        for key, t in self._state_items():
            out[prefix + key] = t if keep_vars else t.detach()
        return out

    def load_state_dict(self, state_dict, strict=True):
        """Copy values from ``state_dict`` into the parameters and buffers, in place.

        Everything is checked before anything is written, so a failed load leaves the module
        unchanged. With ``strict``, missing or unexpected keys are an error; shapes must always
        match. Returns ``IncompatibleKeys(missing_keys, unexpected_keys)``.
        """
        own = OrderedDict(self._state_items())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems = []
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        values = {}
        for key, target in own.items():
            if key not in state_dict:
                continue
            try:
                value = _host(state_dict[key])
            except Exception as exc:
                problems.append(f"{key}: cannot convert {type(state_dict[key]).__name__} to an "
                                f"array ({exc})")
                continue
            if value.shape != target.shape:
                problems.append(f"{key}: shape {value.shape} in the state_dict, "
                                f"{target.shape} in the model")
            elif value.dtype.kind not in "biuf":
                problems.append(f"{key}: dtype {value.dtype} is not numeric")
            else:
                values[key] = value
        if problems:
            raise StateDictError(f"cannot load state_dict into {type(self).__name__}: "
                                 + "; ".join(problems))
        for key, value in values.items():
            target = own[key]
            # In place, so views of parameters held elsewhere (buckets, optimisers) stay valid.
            target.array[...] = backend.to_device(value.astype(target.dtype, copy=False),
                                                  backend.device_of(target.array))
        return IncompatibleKeys(missing, unexpected)

    # --- printing -------------------------------------------------------------------------
    def extra_repr(self):
        """Extra text inside this module's repr (override)."""
        return ""

    def __repr__(self):
        lines = [f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"
