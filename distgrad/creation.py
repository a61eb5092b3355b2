"""Creating tensors as PyTorch does: from data (``tensor``, ``as_tensor``, ``from_numpy``), filled
(``zeros``, ``ones``, ``full``, ``empty``, ``eye``, the ``*_like`` forms), ranges (``arange``,
``linspace``), and the questions ``is_tensor``, ``is_floating_point``, ``numel``."""
import numbers
import operator
import warnings

import numpy

from . import backend, dtypes
from .autograd.tensor import Tensor


# --- from data --------------------------------------------------------------------------------
def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of ``data``: a number, a (nested) list or tuple, a NumPy or
    CuPy array, or a Tensor.

    The dtype is inferred as PyTorch does: Python bools give bool, ints int64, floats the
    default dtype (float32), complex numbers complex64; arrays, NumPy scalars and Tensors keep
    their dtype; a list mixing kinds takes the highest (``[1, 2.5]`` is float32).

    >>> tensor([[1, 2], [3, 4]]).dtype
    dtype('int64')
    """
    if isinstance(data, Tensor):
        warnings.warn("To copy construct from a tensor, use source.detach().clone() (or "
                      ".detach().clone().requires_grad_(True)) rather than distgrad.tensor(source)",
                      UserWarning, stacklevel=2)
        array = data.array.copy()
    elif isinstance(data, numpy.ndarray) or backend.get_array_module(data) is not numpy:
        array = _checked_array(data, "tensor").copy()
    else:
        array = _from_python(data)
    return _finish(array, dtype, device, requires_grad)


def as_tensor(data, dtype=None, device=None):
    """``data`` as a tensor, sharing memory where it can, as ``torch.as_tensor``: a Tensor of the
    asked dtype and device is returned itself, a NumPy or CuPy array of that dtype and device is
    wrapped without a copy; anything else is converted as by ``tensor``."""
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype)
    if isinstance(data, numpy.ndarray) or backend.get_array_module(data) is not numpy:
        return _finish(_checked_array(data, "as_tensor"), dtype, device, False)
    return _finish(_from_python(data), dtype, device, False)


def from_numpy(ndarray):
    """A tensor sharing memory with NumPy array ``ndarray``: writes to either show in the other.
    The dtype is kept (a float64 array gives a float64 tensor).

    >>> a = numpy.zeros(3); t = from_numpy(a); a[0] = 1; t[0].item()
    1.0
    """
    if not isinstance(ndarray, numpy.ndarray):
        raise TypeError(f"from_numpy() expected a numpy.ndarray, got {type(ndarray).__name__}: "
                        "use distgrad.tensor(...) for lists and numbers")
    if any(stride < 0 for stride in ndarray.strides):
        raise ValueError("from_numpy(): the array has a negative stride (e.g. from a[::-1]); "
                         "pass a copy, numpy.ascontiguousarray(a)")
    return Tensor(_checked_array(ndarray, "from_numpy"))


def _checked_array(array, who):
    if array.dtype.kind not in "biufc":
        raise TypeError(f"{who}(): cannot make a tensor from an array of dtype {array.dtype}; "
                        "supported are bool, integer, float and complex dtypes")
    return array


def _finish(array, dtype, device, requires_grad):
    if dtype is not None and array.dtype != dtype:
        array = array.astype(dtype)
    if device is not None:
        array = backend.to_device(array, device)
    return Tensor(array, requires_grad=requires_grad)


def _from_python(data):
    """A NumPy array from Python numbers, NumPy scalars and (nested) sequences of them, with
    PyTorch's inferred dtype."""
    scan = _Scan()
    scan.visit(data, 0)
    if not scan.dtypes:
        found = dtypes.get_default_dtype()
    else:
        found = scan.dtypes.pop()
        for other in scan.dtypes:
            found = dtypes.promote_types(found, other)
    if scan.has_tensor:
        data = _items(data)
    return numpy.asarray(data, dtype=found)


class _Scan:
    """One walk over nested data: the dtype of every leaf, and PyTorch's check that the nesting
    is rectangular."""

    def __init__(self):
        self.shape, self.leaf_depth, self.has_tensor = [], None, False
        self.dtypes = set()

    def visit(self, obj, depth):
        kind = type(obj)
        if kind is float or kind is int or kind is bool or kind is complex:
            self._leaf(depth)
            self.dtypes.add(_python_dtype(obj))
        elif isinstance(obj, (list, tuple, range)):
            self._sequence(len(obj), depth)
            for item in obj:
                self.visit(item, depth + 1)
        elif isinstance(obj, Tensor):
            if obj.array.size != 1:
                raise ValueError(f"only one-element tensors can be converted to Python scalars, "
                                 f"got one of shape {tuple(obj.shape)} inside a list: use "
                                 "distgrad.stack(tensors) to join tensors")
            self._leaf(depth)
            self.dtypes.add(obj.dtype)
            self.has_tensor = True
        elif isinstance(obj, (numpy.ndarray, numpy.generic)):
            if isinstance(obj, numpy.generic) or obj.ndim == 0:
                self._leaf(depth)
            else:
                for axis, length in enumerate(obj.shape):
                    self._sequence(length, depth + axis)
                self._leaf(depth + obj.ndim)
            self.dtypes.add(_checked_array(numpy.asarray(obj), "tensor").dtype)
        elif isinstance(obj, numbers.Number):
            self._leaf(depth)
            self.dtypes.add(_python_dtype(obj))
        elif isinstance(obj, str):
            raise TypeError(f"tensor(): cannot make a tensor from the string {obj!r}; "
                            "expected numbers, (nested) lists of numbers, arrays or Tensors")
        else:
            raise RuntimeError(f"Could not infer dtype of {type(obj).__name__}: distgrad.tensor "
                               "takes numbers, (nested) lists of numbers, arrays or Tensors")

    def _sequence(self, length, depth):
        if self.leaf_depth is not None and depth >= self.leaf_depth:
            raise TypeError(f"tensor(): found a sequence where a number was expected at dim "
                            f"{depth}: nested lists must be rectangular")
        if depth == len(self.shape):
            self.shape.append(length)
        elif self.shape[depth] != length:
            raise ValueError(f"expected sequence of length {self.shape[depth]} at dim {depth} "
                             f"(got {length}): nested lists must be rectangular")

    def _leaf(self, depth):
        if self.leaf_depth is None:
            self.leaf_depth = depth
        if depth < len(self.shape) or depth != self.leaf_depth:
            raise TypeError(f"tensor(): found a number where a sequence of length "
                            f"{self.shape[depth]} was expected at dim {depth}: nested lists must "
                            "be rectangular")


def _python_dtype(value):
    """PyTorch's dtype for a Python (or NumPy) scalar as a fill value: bool, int64, the default
    float, or the default complex."""
    if isinstance(value, (bool, numpy.bool_)):
        return dtypes.bool_
    if isinstance(value, numbers.Integral):
        return dtypes.int64
    if isinstance(value, numbers.Real):
        return dtypes.get_default_dtype()
    return dtypes.default_complex()


def _items(data):
    """``data`` with each Tensor inside it replaced by its Python number."""
    if isinstance(data, Tensor):
        return data.item()
    if isinstance(data, (list, tuple)):
        return [_items(item) for item in data]
    return data


# --- filled -----------------------------------------------------------------------------------
def _size(args, size, who):
    """The shape from ``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])`` or ``f(size=(2, 3))``."""
    if size is not None:
        if args:
            raise TypeError(f"{who}() got the size both as positional arguments {args} and as "
                            f"size={size!r}")
        args = (size,)
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    try:
        shape = tuple(operator.index(n) for n in args)
    except TypeError:
        raise TypeError(f"{who}(): the size must be ints or one tuple of ints, got "
                        f"{args if len(args) != 1 else args[0]!r}") from None
    if any(n < 0 for n in shape):
        raise RuntimeError(f"{who}(): every dimension must be non-negative, got size {shape}")
    return shape


def _make(build, dtype, device, requires_grad):
    """A tensor from ``build(xp, dtype)`` run on ``device`` (the CPU when None)."""
    xp = backend.array_module_for(device)
    with backend.on_device(device):
        return Tensor(build(xp, numpy.dtype(dtype)), requires_grad=requires_grad)


def zeros(*args, size=None, dtype=None, device=None, requires_grad=False):
    """A tensor of zeros: ``zeros(2, 3)``, ``zeros((2, 3))`` or ``zeros(size=(2, 3))``."""
    shape = _size(args, size, "zeros")
    return _make(lambda xp, d: xp.zeros(shape, d), dtype or dtypes.get_default_dtype(), device,
                 requires_grad)


def ones(*args, size=None, dtype=None, device=None, requires_grad=False):
    """A tensor of ones, sized as ``zeros``."""
    shape = _size(args, size, "ones")
    return _make(lambda xp, d: xp.ones(shape, d), dtype or dtypes.get_default_dtype(), device,
                 requires_grad)


def empty(*args, size=None, dtype=None, device=None, requires_grad=False):
    """A tensor whose values are whatever the memory held (uninitialised), sized as ``zeros``."""
    shape = _size(args, size, "empty")
    return _make(lambda xp, d: xp.empty(shape, d), dtype or dtypes.get_default_dtype(), device,
                 requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    """A tensor of shape ``size`` filled with ``fill_value``; without ``dtype`` the value decides
    it as in PyTorch (``full((2,), 4)`` is int64, ``full((2,), 4.0)`` float32)."""
    shape = _size((size,), None, "full")
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    dtype = dtype or _python_dtype(fill_value)
    return _make(lambda xp, d: xp.full(shape, fill_value, d), dtype, device, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    """The ``n`` x ``m`` identity matrix (square when ``m`` is None)."""
    return _make(lambda xp, d: xp.eye(n, m, dtype=d), dtype or dtypes.get_default_dtype(), device,
                 requires_grad)


def _like(input, who, dtype, device):
    if not isinstance(input, Tensor):
        raise TypeError(f"{who}(): argument 'input' must be a Tensor, got {type(input).__name__}")
    return input.shape, dtype or input.dtype, input.device if device is None else device


def zeros_like(input, dtype=None, device=None, requires_grad=False):
    """Zeros of ``input``'s shape, dtype and device (unless ``dtype``/``device`` are given)."""
    shape, dtype, device = _like(input, "zeros_like", dtype, device)
    return zeros(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def ones_like(input, dtype=None, device=None, requires_grad=False):
    """Ones of ``input``'s shape, dtype and device (unless ``dtype``/``device`` are given)."""
    shape, dtype, device = _like(input, "ones_like", dtype, device)
    return ones(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def empty_like(input, dtype=None, device=None, requires_grad=False):
    """An uninitialised tensor of ``input``'s shape, dtype and device."""
    shape, dtype, device = _like(input, "empty_like", dtype, device)
    return empty(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False):
    """``fill_value`` everywhere, in ``input``'s shape, dtype and device."""
    shape, dtype, device = _like(input, "full_like", dtype, device)
    return full(shape, fill_value, dtype=dtype, device=device, requires_grad=requires_grad)


# --- ranges -----------------------------------------------------------------------------------
def _number(value):
    return value.item() if isinstance(value, Tensor) else value


def arange(start=0, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """Values from ``start`` up to (not including) ``end`` by ``step``; int64 when every argument
    is an integer, else the default float dtype, as in PyTorch.

    >>> arange(5).tolist(), arange(0, 1, 0.25).tolist()
    ([0, 1, 2, 3, 4], [0.0, 0.25, 0.5, 0.75])
    """
    if end is None:
        start, end = 0, start
    start, end, step = _number(start), _number(end), _number(step)
    if step == 0:
        raise RuntimeError("arange(): step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange(start={start}, end={end}, step={step}): the bounds are "
                           "inconsistent with the step's sign")
    integral = all(isinstance(v, numbers.Integral) for v in (start, end, step))
    dtype = dtype or (dtypes.int64 if integral else dtypes.get_default_dtype())
    # Each value is start + i * step in float64, then rounded once to the dtype, as PyTorch does
    # (NumPy's arange would accumulate the step in the output dtype).
    values = numpy.arange(start, end, step, dtype=None if integral else numpy.float64)
    return _finish(values, dtype, device, requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    """``steps`` evenly spaced values from ``start`` to ``end``, both included."""
    start, end, steps = _number(start), _number(end), _number(steps)
    if steps < 0:
        raise RuntimeError(f"linspace(): number of steps must be non-negative, got {steps}")
    values = numpy.linspace(start, end, steps, dtype=numpy.float64)
    return _finish(values, dtype or dtypes.get_default_dtype(), device, requires_grad)


# --- questions --------------------------------------------------------------------------------
def is_tensor(obj):
    """True when ``obj`` is a distgrad Tensor (a Parameter included)."""
    return isinstance(obj, Tensor)


def is_floating_point(input):
    """True when ``input``'s dtype is float16, float32 or float64."""
    if not isinstance(input, Tensor):
        raise TypeError(f"is_floating_point(): argument 'input' must be a Tensor, got "
                        f"{type(input).__name__}")
    return input.dtype.kind == "f"


def numel(input):
    """The number of elements of ``input``."""
    if not isinstance(input, Tensor):
        raise TypeError(f"numel(): argument 'input' must be a Tensor, got {type(input).__name__}")
    return int(input.array.size)
