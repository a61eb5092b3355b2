"""``Tensor``: a backend array (``.array``) plus what autograd needs (``grad``,
``requires_grad``, ``grad_fn``).

Its methods and operators are thin calls into ``distgrad.ops``; the math lives there, once, for
NumPy and CuPy alike. As in PyTorch, ``.data`` is a detached Tensor sharing the memory and
``.grad`` is a Tensor (or None).
"""
import numpy

from .. import backend, printing
from . import tensor_methods
from .grad_mode import is_grad_enabled
from .hooks import RemovableHandle
from .tensor_methods import TensorMethods, _compare, _dtype_name, _index_arrays, _scaled


def _as_array(data, dtype=None, device=None):
    """Backend array for ``data``: Python floats become float32, arrays keep their dtype."""
    if isinstance(data, Tensor):
        data = data.array
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


class Tensor(TensorMethods):
    """An n-dimensional array that can record the operations applied to it.

    Args:
        data: a Python number or (nested) list, a NumPy array or a CuPy array.
        requires_grad: record operations on this tensor so ``backward`` can reach it.

    >>> x = Tensor([1.0, 2.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([2., 4.])
    """

    __slots__ = ("array", "_grad", "requires_grad", "grad_fn", "_hooks", "_post_hooks", "__weakref__")
    # NumPy defers to Tensor's reflected operators (ndarray * Tensor -> Tensor, recorded), and
    # numpy.asarray(tensor) gives the host data, as with PyTorch tensors.
    __array_ufunc__ = None

    def __array__(self, dtype=None, copy=None):
        array = backend.to_numpy(self.array)
        return array if dtype is None else array.astype(dtype, copy=False)

    def __init__(self, data, requires_grad=False):
        self.array = _as_array(data)
        self._grad = None
        self.grad_fn = None
        self._hooks = self._post_hooks = None
        self.requires_grad = bool(requires_grad)
        if self.requires_grad and self.array.dtype.kind not in "fc":
            raise RuntimeError("only Tensors of floating point dtype can require gradients, got "
                               f"dtype {_dtype_name(self.array.dtype)}")

    @classmethod
    def _from_op(cls, array, grad_fn):
        t = cls.__new__(cls)
        t.array = array
        t._grad = t._hooks = t._post_hooks = None
        t.grad_fn = grad_fn
        t.requires_grad = grad_fn is not None
        return t

    # --- data and grad, as PyTorch's ------------------------------------------------------
    @property
    def data(self):
        """A Tensor sharing this tensor's memory, outside the graph: ``p.data.add_(...)``
        changes ``p`` without being recorded. Assigning ``t.data = other`` swaps the array."""
        return Tensor._from_op(self.array, None)

    @data.setter
    def data(self, value):
        self.array = _as_array(value)

    @property
    def grad(self):
        """The gradient accumulated by ``backward`` (a Tensor of this tensor's shape), or None.
        A backend array may be assigned too; it is wrapped, not copied."""
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                if backend.get_array_module(value) is numpy and not isinstance(value, numpy.ndarray):
                    raise TypeError(f"assigned grad expected to be a Tensor or None but got "
                                    f"{type(value).__name__}: wrap it with distgrad.tensor(...)")
                value = Tensor._from_op(value, None)
            if value.array.shape != self.array.shape:
                raise RuntimeError(f"assigned grad has data of a different size: grad shape "
                                   f"{tuple(value.shape)}, tensor shape {tuple(self.shape)}")
            if value.array.dtype != self.array.dtype:
                raise RuntimeError(f"assigned grad has data of a different type: "
                                   f"{_dtype_name(value.array.dtype)}, tensor is "
                                   f"{_dtype_name(self.array.dtype)}")
        self._grad = value

    # --- description ----------------------------------------------------------------------
    shape = property(lambda self: self.array.shape, doc="Tuple of dimensions.")
    ndim = property(lambda self: self.array.ndim, doc="Number of dimensions.")
    dtype = property(lambda self: self.array.dtype, doc="The array's dtype.")
    size = property(lambda self: TensorSize(self.array.shape),
                    doc="Number of elements; ``t.size(dim)`` / ``t.size()`` work as in PyTorch.")
    device = property(lambda self: backend.device_of(self.array),
                      doc="A ``distgrad.device`` (equal to \"cpu\" or \"cuda:N\").")
    is_cuda = property(lambda self: self.device != "cpu", doc="True for a tensor on a GPU.")
    is_leaf = property(lambda self: self.grad_fn is None,
                       doc="True for tensors not produced by a recorded operation.")

    def __len__(self):
        return len(self.array)

    def __repr__(self):
        array = backend.to_numpy(self.array)
        extra = "" if self.device == "cpu" else f", device='{self.device}'"
        if array.dtype not in (numpy.float32, numpy.int64, numpy.bool_) or array.size == 0:
            extra += f", dtype=distgrad.{array.dtype.name}"
        if self.grad_fn is not None:
            extra += f", grad_fn=<{type(self.grad_fn).__name__}Backward>" \
                if not hasattr(self.grad_fn, "name") else f", grad_fn=<{self.grad_fn.name()}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        # array2string's formatter= replaces the global one: keep set_printoptions' formatters.
        formatter = {**(numpy.get_printoptions()["formatter"] or {}), "bool": lambda b: str(bool(b))}
        # PyTorch's style: 4 digits after the point, as many for every element, none for whole
        # numbers ("tensor([1.0180, 2.5000])", "tensor([1., 2.])").
        finite = array[numpy.isfinite(array)] if array.dtype.kind == "f" else array
        whole = array.dtype.kind != "f" or not numpy.any(finite % 1 != 0)
        body = numpy.array2string(array, separator=", ", prefix="tensor(", formatter=formatter,
                                  precision=printing.TENSOR_PRECISION,
                                  floatmode="maxprec_equal" if whole else "fixed")
        return f"tensor({body}{extra})"

    __hash__ = object.__hash__  # identity, so tensors can key dicts (optimiser state) as in PyTorch

    def __bool__(self):
        return bool(self._scalar("bool"))

    def __float__(self):
        return float(self._scalar("float"))

    def __int__(self):
        return int(self._scalar("int"))

    def __index__(self):
        if self.array.dtype.kind not in "iub":
            raise TypeError(f"only integer tensors of a single element can be converted to an "
                            f"index, got dtype {_dtype_name(self.array.dtype)}")
        return int(self._scalar("index"))

    def _scalar(self, what):
        # As in PyTorch any one-element tensor converts, whatever its number of dimensions.
        if self.array.size != 1:
            if what == "bool":
                raise RuntimeError(f"Boolean value of Tensor with more than one value is "
                                   f"ambiguous (shape {tuple(self.shape)}): use .any() or .all()")
            raise RuntimeError(f"only one element tensors can be converted to Python scalars, "
                               f"got shape {tuple(self.shape)}")
        return self.array.item()

    # --- conversion -----------------------------------------------------------------------
    def numpy(self, *, force=False):
        """The data as a NumPy array: a view on the CPU, a host copy of a GPU tensor.

        As in PyTorch, a tensor that requires grad refuses (its values would leave the graph
        silently): call ``t.detach().numpy()``; ``force=True`` copies to the host in any case.
        """
        if self.requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        array = backend.to_numpy(self.array)
        return array.copy() if force and array is self.array else array

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.array.size != 1:
            raise RuntimeError(f"a Tensor with {self.array.size} elements cannot be converted to "
                               f"Scalar: item() needs exactly one element, got shape {tuple(self.shape)}")
        return self.array.item()

    def tolist(self):
        """The data as (nested) Python lists."""
        return backend.to_numpy(self.array).tolist()

    def clone(self):
        """A copy with its own memory, recorded in the graph (the gradient flows back)."""
        return ops.clone(self)

    def detach(self):
        """A tensor sharing this data, outside the graph."""
        return Tensor._from_op(self.array, None)

    def to(self, device=None, dtype=None, non_blocking=False, copy=False):
        """This tensor on ``device`` and/or with ``dtype`` (differentiable through a copy), as
        PyTorch's ``to``: ``t.to("cuda")``, ``t.to(distgrad.float64)``, ``t.to(device, dtype)``
        or ``t.to(other)`` (other's device and dtype). Returns ``self`` when nothing changes and
        ``copy`` is False. ``non_blocking`` is accepted; copies are synchronous.
        """
        if isinstance(device, Tensor):
            device, dtype = device.device, device.dtype if dtype is None else dtype
        device, dtype = backend.device_and_dtype(device, dtype)
        same_device = device is None or backend.parse_device(device) == self.device
        same_dtype = dtype is None or numpy.dtype(dtype) == self.array.dtype
        if same_device and same_dtype:
            return ops.clone(self) if copy else self
        return ops.to(self, device=device, dtype=dtype)

    def cpu(self):
        """Same as ``to("cpu")``."""
        return self.to("cpu")

    def cuda(self, index=None):
        """Same as ``to("cuda")`` (or ``"cuda:index"``)."""
        return self.to("cuda" if index is None else f"cuda:{index}")

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` in place (leaves only) and return self."""
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError("requires_grad_(False) on a non-leaf tensor: use detach() instead")
        if requires_grad and self.array.dtype.kind not in "fc":
            raise RuntimeError("only Tensors of floating point dtype can require gradients, got "
                               f"dtype {_dtype_name(self.array.dtype)}")
        self.requires_grad = requires_grad
        return self

    # --- autograd -------------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Compute gradients of this tensor with respect to every leaf that requires them.

        Args:
            gradient: gradient of some outer scalar with respect to this tensor; may be omitted
                for a one-element tensor (then 1).
            retain_graph: keep saved arrays so the graph can be differentiated again.
            create_graph: must be False: distgrad's backward does not record a graph, so
                higher-order gradients are not available.
            inputs: accumulate only into these tensors' ``.grad`` (default: every leaf).
        """
        if create_graph:
            raise RuntimeError("backward(create_graph=True): distgrad computes first-order "
                               "gradients only (its backward is not recorded)")
        if inputs is not None:
            from .functional_grad import backward_into
            backward_into(self, gradient, bool(retain_graph), inputs)
            return
        from .engine import run_backward
        run_backward(self, gradient, bool(retain_graph))

    def register_hook(self, fn):
        """Call ``fn(grad)`` with this tensor's gradient (a Tensor) during backward; a non-None
        return replaces the gradient. Returns a handle whose ``remove()`` unregisters it."""
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
            if me._grad is None:
                me._grad = Tensor._from_op(grad.array.copy(), None)
            else:
                me._grad.array += grad.array
        self.register_hook(keep)

    # --- in place, outside the graph (parameter updates, buffers, initialisation) ---------
    def _inplace(self, op, other=None):
        # PyTorch records in-place ops on non-leaves; distgrad's graph holds arrays that an
        # in-place change would corrupt, so only tensors outside the graph may change.
        if self.requires_grad and self.grad_fn is None and is_grad_enabled():
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                               "operation: wrap the update in `with distgrad.no_grad():` or "
                               "change `t.data` instead")
        if self.grad_fn is not None:
            raise RuntimeError("in-place operations on tensors produced by recorded operations "
                               "are not supported; write `x = x + y` instead")
        op(other.array if isinstance(other, Tensor) else other)
        return self

    def add_(self, other, *, alpha=1):
        """``self += alpha * other`` in place."""
        return self._inplace(self.array.__iadd__, other if alpha == 1 else _scaled(other, alpha))

    def sub_(self, other, *, alpha=1):
        """``self -= alpha * other`` in place."""
        return self._inplace(self.array.__isub__, other if alpha == 1 else _scaled(other, alpha))

    def mul_(self, other):
        """``self *= other`` in place."""
        return self._inplace(self.array.__imul__, other)

    def div_(self, other):
        """``self /= other`` in place."""
        return self._inplace(self.array.__itruediv__, other)

    def copy_(self, src):
        """Copy ``src`` (broadcast, converted to this dtype and device) into this tensor."""
        src = src.array if isinstance(src, Tensor) else src
        src = backend.to_device(src, self.device) if backend.get_array_module(src) is not numpy \
            or self.device != "cpu" else src
        return self._inplace(lambda v: self.array.__setitem__(Ellipsis, v), src)

    def fill_(self, value):
        """Set every element to ``value``."""
        return self._inplace(lambda v: self.array.__setitem__(Ellipsis, v), value)

    def zero_(self):
        """Set every element to zero."""
        return self.fill_(0)

    def clamp_(self, min=None, max=None):
        """Limit the values to ``[min, max]`` in place."""
        if min is None and max is None:
            raise RuntimeError("clamp_: at least one of 'min' or 'max' must not be None")
        xp = backend.get_array_module(self.array)
        lo = min.array if isinstance(min, Tensor) else min
        hi = max.array if isinstance(max, Tensor) else max
        return self._inplace(lambda _: xp.clip(self.array, lo, hi, out=self.array))

    clip_ = clamp_

    def normal_(self, mean=0.0, std=1.0):
        """Fill with samples of N(mean, std²) from distgrad's generator."""
        gen = backend.default_generator(self.device)
        return self._inplace(lambda _: self.array.__setitem__(
            Ellipsis, gen.normal(mean, std, self.shape)))

    def uniform_(self, a=0.0, b=1.0):
        """Fill with samples of U(a, b) from distgrad's generator."""
        gen = backend.default_generator(self.device)
        return self._inplace(lambda _: self.array.__setitem__(
            Ellipsis, gen.uniform(a, b, self.shape)))

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

    def __iadd__(self, other): return self._inplace(self.array.__iadd__, other)
    def __isub__(self, other): return self._inplace(self.array.__isub__, other)
    def __imul__(self, other): return self._inplace(self.array.__imul__, other)
    def __itruediv__(self, other): return self._inplace(self.array.__itruediv__, other)

    def __setitem__(self, index, value):
        index = _index_arrays(index)
        self._inplace(lambda v: self.array.__setitem__(index, v), value)

    # Comparisons give boolean tensors outside the graph, as in PyTorch.
    def __eq__(self, other): return _compare(self, other, "equal")
    def __ne__(self, other): return _compare(self, other, "not_equal")
    def __lt__(self, other): return _compare(self, other, "less")
    def __le__(self, other): return _compare(self, other, "less_equal")
    def __gt__(self, other): return _compare(self, other, "greater")
    def __ge__(self, other): return _compare(self, other, "greater_equal")


# The operators above call into distgrad.ops, which builds on Function and Tensor from this
# package; importing it last lets both modules see each other fully initialised.
from .. import ops  # noqa: E402

tensor_methods.bind(Tensor, ops, _as_array)
