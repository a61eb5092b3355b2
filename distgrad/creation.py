"""Creating tensors: ``tensor``, ``zeros``, ``ones``, ``full``, ``arange``, ``rand``, ``randn``."""
import contextlib

import numpy

from . import backend
from .autograd.tensor import Tensor, _as_array


def _shape(shape):
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)


def _new(array, requires_grad):
    return Tensor(array, requires_grad=requires_grad)


def tensor(data, requires_grad=False, dtype=None, device=None):
    """A new tensor from a number, a (nested) list, a NumPy or a CuPy array (copied).

    Python floats become float32 (the default dtype); arrays keep their dtype unless ``dtype``
    is given.
    """
    array = _as_array(data, dtype=dtype, device=device)
    if array is (data.array if isinstance(data, Tensor) else data):
        array = array.copy()
    return _new(array, requires_grad)


def _filled(fill, shape, dtype, device, requires_grad):
    xp = backend.array_module_for(device)
    dtype = dtype or backend.get_default_dtype()
    with _on(device):
        return _new(xp.full(_shape(shape), fill, dtype=dtype), requires_grad)


def _on(device):
    """Context that makes CuPy allocate on ``device`` (a no-op for the CPU)."""
    device = backend.parse_device(device)
    if device == "cpu":
        return contextlib.nullcontext()
    return backend.cupy.cuda.Device(int(device[5:]))


def zeros(*shape, dtype=None, device=None, requires_grad=False):
    """A tensor of zeros."""
    return _filled(0, shape, dtype, device, requires_grad)


def ones(*shape, dtype=None, device=None, requires_grad=False):
    """A tensor of ones."""
    return _filled(1, shape, dtype, device, requires_grad)


def full(shape, fill_value, dtype=None, device=None, requires_grad=False):
    """A tensor filled with ``fill_value``."""
    return _filled(fill_value, (shape,) if isinstance(shape, int) else shape, dtype, device, requires_grad)


def zeros_like(t, dtype=None, requires_grad=False):
    """Zeros of ``t``'s shape, on its device (and of its dtype unless ``dtype`` is given)."""
    data = t.array if isinstance(t, Tensor) else t
    return _new(backend.get_array_module(data).zeros_like(data, dtype=dtype), requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    """Ones of ``t``'s shape, on its device (and of its dtype unless ``dtype`` is given)."""
    data = t.array if isinstance(t, Tensor) else t
    return _new(backend.get_array_module(data).ones_like(data, dtype=dtype), requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """Evenly spaced values in ``[start, end)`` (int64 for integer arguments, as in PyTorch)."""
    if end is None:
        start, end = 0, start
    xp = backend.array_module_for(device)
    if dtype is None and all(isinstance(v, int) for v in (start, end, step)):
        dtype = numpy.int64
    with _on(device):
        return _new(xp.arange(start, end, step, dtype=dtype or backend.get_default_dtype()), requires_grad)


def rand(*shape, dtype=None, device=None, requires_grad=False):
    """Uniform samples in [0, 1) from distgrad's generator (see ``manual_seed``)."""
    gen = backend.default_generator(device)
    with _on(device):
        data = gen.random(_shape(shape), dtype=dtype or backend.get_default_dtype())
    return _new(data, requires_grad)


def randn(*shape, dtype=None, device=None, requires_grad=False):
    """Standard normal samples from distgrad's generator (see ``manual_seed``)."""
    gen = backend.default_generator(device)
    with _on(device):
        data = gen.standard_normal(_shape(shape), dtype=dtype or backend.get_default_dtype())
    return _new(data, requires_grad)
