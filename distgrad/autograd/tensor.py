"""``Tensor``: a backend array plus what autograd needs (``grad``, ``requires_grad``, ``grad_fn``).

Its methods and operators are thin calls into ``distgrad.ops``; the math lives there, once, for
NumPy and CuPy alike.
"""
import numbers

import numpy

from .. import backend
from .grad_mode import is_grad_enabled
from .hooks import RemovableHandle


def _as_array(data, dtype=None, device=None):
    """Backend array for ``data``: Python floats become float32, arrays keep their dtype."""
    if isinstance(data, Tensor):
        data = data.data
    xp = backend.get_array_module(data)
    if xp is numpy and not isinstance(data, numpy.ndarray):
        data = numpy.asarray(data)
        if dtype is None and data.dtype == numpy.float64:
            data = data.astype(backend.get_default_dtype())
    if dtype is not None and data.dtype != dtype:
        data = data.astype(dtype)
    if device is not None:
        data = backend.to_device(data, device)
    return data


class TensorSize(int):
    """``t.size``: the number of elements (NumPy's attribute), callable like PyTorch's method —
    ``t.size()`` gives the shape and ``t.size(dim)`` one dimension."""

    def __new__(cls, shape):
        count = 1
        for n in shape:
            count *= n
        size = super().__new__(cls, count)
        size.shape = tuple(shape)
        return size

    def __call__(self, dim=None):
        return self.shape if dim is None else self.shape[dim]


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    Args:
        data: a Python number or (nested) list, a NumPy array or a CuPy array.
        requires_grad: record operations on this tensor so ``backward`` can reach it.

    >>> x = Tensor([1.0, 2.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    array([2., 4.], dtype=float32)
    """

    __slots__ = ("data", "grad", "requires_grad", "grad_fn", "_hooks", "_post_hooks", "__weakref__")
    # NumPy defers to Tensor's reflected operators (ndarray * Tensor -> Tensor, recorded), and
    # numpy.asarray(tensor) gives the host data, as with PyTorch tensors.
    __array_ufunc__ = None

    def __array__(self, dtype=None, copy=None):
        array = backend.to_numpy(self.data)
        return array if dtype is None else array.astype(dtype, copy=False)

    def __init__(self, data, requires_grad=False):
        self.data = _as_array(data)
        self.grad = None
        self.grad_fn = None
        self._hooks = self._post_hooks = None
        self.requires_grad = bool(requires_grad)
        if self.requires_grad and self.data.dtype.kind not in "fc":
            raise TypeError(f"only floating-point tensors can require gradients, got dtype {self.data.dtype}")

    @classmethod
    def _from_op(cls, data, grad_fn):
        t = cls.__new__(cls)
        t.data = data
        t.grad = t._hooks = t._post_hooks = None
        t.grad_fn = grad_fn
        t.requires_grad = grad_fn is not None
        return t

    # --- description ----------------------------------------------------------------------
    shape = property(lambda self: self.data.shape, doc="Tuple of dimensions.")
    ndim = property(lambda self: self.data.ndim, doc="Number of dimensions.")
    dtype = property(lambda self: self.data.dtype, doc="The array's dtype.")
    size = property(lambda self: TensorSize(self.data.shape),
                    doc="Number of elements; ``t.size(dim)`` / ``t.size()`` work as in PyTorch.")
    device = property(lambda self: backend.device_of(self.data), doc='"cpu" or "cuda:N".')
    array = property(lambda self: self.data, doc="The backend array (NumPy or CuPy), no copy.")
    is_leaf = property(lambda self: self.grad_fn is None,
                       doc="True for tensors not produced by a recorded operation.")

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        extra = ", requires_grad=True" if self.requires_grad else ""
        dev = "" if self.device == "cpu" else f", device='{self.device}'"
        return f"tensor({backend.to_numpy(self.data)!r}{dev}{extra})"

    __hash__ = object.__hash__  # identity, so tensors can key dicts (optimiser state) as in PyTorch

    def __bool__(self):
        return bool(self.data)

    def __float__(self):
        return float(self.data)

    def __int__(self):
        return int(self.data)

    def __index__(self):
        return int(self.data)

    # --- conversion -----------------------------------------------------------------------
    def numpy(self):
        """A host NumPy copy (a view on the CPU) of the data, detached from the graph."""
        return backend.to_numpy(self.data)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.item()

    def tolist(self):
        """The data as (nested) Python lists."""
        return backend.to_numpy(self.data).tolist()

    def detach(self):
        """A tensor sharing this data, outside the graph."""
        return Tensor._from_op(self.data, None)

    def to(self, device=None, dtype=None):
        """This tensor on ``device`` and/or with ``dtype`` (differentiable through a copy);
        ``t.to(distgrad.float64)`` works too."""
        device, dtype = backend.device_and_dtype(device, dtype)
        return ops.to(self, device=device, dtype=dtype)

    def cpu(self):
        """Same as ``to("cpu")``."""
        return self.to("cpu")

    def cuda(self, index=None):
        """Same as ``to("cuda")`` (or ``"cuda:index"``)."""
        return self.to("cuda" if index is None else f"cuda:{index}")

    def float(self):
        """Same as ``to(dtype=float32)``."""
        return self.to(dtype=numpy.float32)

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` in place (leaves only) and return self."""
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError("requires_grad_(False) on a non-leaf tensor: use detach() instead")
        if requires_grad and self.data.dtype.kind not in "fc":
            raise TypeError(f"only floating-point tensors can require gradients, got dtype {self.data.dtype}")
        self.requires_grad = requires_grad
        return self

    # --- autograd -------------------------------------------------------------------------
    def backward(self, grad=None, retain_graph=False):
        """Compute gradients of this tensor with respect to every leaf that requires them.

        Args:
            grad: gradient of some outer scalar with respect to this tensor; may be omitted for
                a one-element tensor (then 1).
            retain_graph: keep saved arrays so the graph can be differentiated again.
        """
        from .engine import run_backward
        run_backward(self, grad, retain_graph)

    def register_hook(self, fn):
        """Call ``fn(grad)`` with this tensor's gradient during backward; a non-None return
        replaces the gradient. Returns a handle whose ``remove()`` unregisters it."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that does not require grad")
        if self.grad_fn is not None:
            hooks = self.grad_fn.__dict__.setdefault("_out_hooks", [])
        else:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        hooks.append(fn)
        return RemovableHandle(hooks, fn)

    def register_post_accumulate_grad_hook(self, fn):
        """Call ``fn(tensor)`` on this leaf right after its ``.grad`` has been written for this
        backward pass: the signal data-parallel training uses to start communicating."""
        if self.grad_fn is not None:
            raise RuntimeError("post-accumulate-grad hooks can only be registered on leaf tensors")
        if self._post_hooks is None:
            self._post_hooks = []
        self._post_hooks.append(fn)
        return RemovableHandle(self._post_hooks, fn)

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf tensor after backward."""
        if self.grad_fn is None:
            return
        me = self

        def keep(grad):
            me.grad = grad if me.grad is None else me.grad + grad
        self.register_hook(keep)

    def zero_(self):
        """Fill with zeros in place (outside the graph)."""
        self.data[...] = 0
        return self

    # --- operators ------------------------------------------------------------------------
    def __add__(self, other): return ops.add(self, other)
    def __radd__(self, other): return ops.add(other, self)
    def __sub__(self, other): return ops.sub(self, other)
    def __rsub__(self, other): return ops.sub(other, self)
    def __mul__(self, other): return ops.mul(self, other)
    def __rmul__(self, other): return ops.mul(other, self)
    def __truediv__(self, other): return ops.div(self, other)
    def __rtruediv__(self, other): return ops.div(other, self)
    def __pow__(self, other): return ops.pow(self, other)
    def __rpow__(self, other): return ops.pow(other, self)
    def __matmul__(self, other): return ops.matmul(self, other)
    def __rmatmul__(self, other): return ops.matmul(other, self)
    def __neg__(self): return ops.neg(self)
    def __pos__(self): return self
    def __getitem__(self, index): return ops.getitem(self, index)

    def __iadd__(self, other): return self._inplace(self.data.__iadd__, other)
    def __isub__(self, other): return self._inplace(self.data.__isub__, other)
    def __imul__(self, other): return self._inplace(self.data.__imul__, other)
    def __itruediv__(self, other): return self._inplace(self.data.__itruediv__, other)

    def _inplace(self, op, other):
        # In-place arithmetic is for parameter updates and buffers, outside the graph.
        if self.requires_grad and self.grad_fn is None and is_grad_enabled():
            raise RuntimeError("in-place operation on a leaf tensor that requires grad: wrap it "
                               "in `with distgrad.no_grad():`")
        if self.grad_fn is not None:
            raise RuntimeError("in-place operations on tensors produced by recorded operations "
                               "are not supported; write `x = x + y` instead")
        op(other.data if isinstance(other, Tensor) else other)
        return self

    def __setitem__(self, index, value):
        self._inplace(lambda v: self.data.__setitem__(index, v), value)

    # Comparisons give boolean tensors outside the graph, as in PyTorch.
    def __eq__(self, other): return _compare(self, other, "equal")
    def __ne__(self, other): return _compare(self, other, "not_equal")
    def __lt__(self, other): return _compare(self, other, "less")
    def __le__(self, other): return _compare(self, other, "less_equal")
    def __gt__(self, other): return _compare(self, other, "greater")
    def __ge__(self, other): return _compare(self, other, "greater_equal")

    # --- methods (PyTorch's names; the math is in distgrad.ops) ---------------------------
    def sum(self, axis=None, keepdims=False, dim=None, keepdim=None):
        """Sum over ``axis`` (``dim`` is accepted as in PyTorch)."""
        return ops.sum(self, dim if dim is not None else axis, keepdim if keepdim is not None else keepdims)

    def mean(self, axis=None, keepdims=False, dim=None, keepdim=None):
        """Mean over ``axis`` (``dim`` is accepted as in PyTorch)."""
        return ops.mean(self, dim if dim is not None else axis, keepdim if keepdim is not None else keepdims)

    def max(self, axis=None, keepdims=False, dim=None, keepdim=None):
        """Maximum over ``axis`` (the values; use ``argmax`` for indices). Along one axis the
        gradient goes to the first maximum; over all elements ties share it, as in PyTorch."""
        return ops.max(self, dim if dim is not None else axis, keepdim if keepdim is not None else keepdims)

    def min(self, axis=None, keepdims=False, dim=None, keepdim=None):
        """Minimum over ``axis``, with ``max``'s gradient rule."""
        return ops.min(self, dim if dim is not None else axis, keepdim if keepdim is not None else keepdims)

    def softmax(self, dim):
        """Softmax along ``dim``."""
        return ops.softmax(self, dim)

    def log_softmax(self, dim):
        """Log-softmax along ``dim``."""
        return ops.log_softmax(self, dim)

    def numel(self):
        """Number of elements (PyTorch's name for ``size``)."""
        return self.data.size

    def double(self):
        """Same as ``to(dtype=float64)``."""
        return self.to(dtype=numpy.float64)

    def long(self):
        """Same as ``to(dtype=int64)`` (outside the graph: integers have no gradient)."""
        return Tensor._from_op(self.data.astype(numpy.int64), None)

    def argmax(self, axis=None, dim=None):
        """Index of the maximum (no gradient)."""
        axis = dim if dim is not None else axis
        return Tensor._from_op(self.data.argmax(axis=axis), None)

    def reshape(self, *shape):
        """The same data with a new shape (one dimension may be -1)."""
        return ops.reshape(self, shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape)

    view = reshape

    def transpose(self, *axes):
        """Permute dimensions: no arguments reverses them; two ints swap those two (PyTorch)."""
        return ops.transpose(self, axes)

    def permute(self, *axes):
        """Reorder dimensions to ``axes``."""
        return ops.permute(self, axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes)

    T = property(lambda self: ops.permute(self, tuple(range(self.ndim - 1, -1, -1))),
                 doc="Dimensions reversed.")

    def flatten(self, start_dim=0, end_dim=-1):
        """Merge dimensions ``start_dim..end_dim`` into one."""
        return ops.flatten(self, start_dim, end_dim)

    def unsqueeze(self, dim):
        """Insert a dimension of size one at ``dim``."""
        return ops.unsqueeze(self, dim)

    def squeeze(self, dim=None):
        """Remove dimensions of size one (only ``dim`` when given)."""
        return ops.squeeze(self, dim)

    def exp(self): return ops.exp(self)
    def log(self): return ops.log(self)
    def sqrt(self): return ops.sqrt(self)
    def relu(self): return ops.relu(self)
    def sigmoid(self): return ops.sigmoid(self)
    def tanh(self): return ops.tanh(self)
    def abs(self): return ops.abs(self)

    def clip(self, lo=None, hi=None):
        """Limit values to ``[lo, hi]``; the gradient is zero where clipping happened."""
        return ops.clip(self, lo, hi)

    clamp = clip

    exp.__doc__ = "Elementwise e**x."
    log.__doc__ = "Elementwise natural logarithm."
    sqrt.__doc__ = "Elementwise square root."
    relu.__doc__ = "Elementwise max(x, 0)."
    sigmoid.__doc__ = "Elementwise 1 / (1 + e**-x)."
    tanh.__doc__ = "Elementwise hyperbolic tangent."
    abs.__doc__ = "Elementwise absolute value."


def _compare(a, b, name):
    if isinstance(b, Tensor):
        b = b.data
    elif not isinstance(b, (numbers.Number, numpy.ndarray)) and backend.get_array_module(b) is numpy:
        return NotImplemented
    return Tensor._from_op(getattr(backend.get_array_module(a.data), name)(a.data, b), None)


# The operators above call into distgrad.ops, which builds on Function and Tensor from this
# package; importing it last lets both modules see each other fully initialised.
from .. import ops  # noqa: E402
