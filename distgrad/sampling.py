"""Random tensors: ``rand``, ``randn``, ``randint``, ``randperm`` and ``rand_like``/``randn_like``,
drawn from distgrad's per-device generators (seeded by ``distgrad.manual_seed``).

Draws are reproducible within distgrad for a seed; they are not PyTorch's numbers for it.
"""
import numpy

from . import backend, dtypes
from .autograd.tensor import Tensor
from .creation import _like, _size
from .generator import _numpy_rng


def _generator(generator, device, who):
    """The generator to draw from: distgrad's own for ``device``, or the one passed as
    ``generator=`` (a ``distgrad.Generator`` or ``numpy.random.Generator``; CPU tensors only)."""
    if generator is None:
        return backend.default_generator(device)
    if device is not None and backend.parse_device(device) != "cpu":
        raise RuntimeError(f"{who}(generator=...) draws on the CPU, but device={device!r} was "
                           "asked for: leave generator=None to use the device's generator")
    return _numpy_rng(generator, who)


def _float_dtype(dtype, who):
    dtype = numpy.dtype(dtype or dtypes.get_default_dtype())
    if dtype.kind != "f":
        raise TypeError(f"{who}() draws floating point numbers, got dtype={dtype.name}: use "
                        "randint() for integers, or a float dtype")
    return dtype


def _draw(draw, dtype, device, requires_grad):
    # NumPy's and CuPy's generators make float32 and float64 only: half precision is drawn in
    # float32 and rounded.
    with backend.on_device(device):
        array = draw(numpy.float32 if dtype == dtypes.float16 else dtype)
        return Tensor(array.astype(dtype, copy=False), requires_grad=requires_grad)


def rand(*args, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform samples in [0, 1), sized as ``zeros`` (``rand(2, 3)`` or ``rand((2, 3))``)."""
    shape, dtype = _size(args, size, "rand"), _float_dtype(dtype, "rand")
    gen = _generator(generator, device, "rand")
    return _draw(lambda d: gen.random(shape, dtype=d), dtype, device, requires_grad)


def randn(*args, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    """Standard normal samples (mean 0, variance 1), sized as ``zeros``."""
    shape, dtype = _size(args, size, "randn"), _float_dtype(dtype, "randn")
    gen = _generator(generator, device, "randn")
    return _draw(lambda d: gen.standard_normal(shape, dtype=d), dtype, device, requires_grad)


def rand_like(input, dtype=None, device=None, requires_grad=False):
    """``rand`` in ``input``'s shape, dtype and device."""
    shape, dtype, device = _like(input, "rand_like", dtype, device)
    return rand(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def randn_like(input, dtype=None, device=None, requires_grad=False):
    """``randn`` in ``input``'s shape, dtype and device."""
    shape, dtype, device = _like(input, "randn_like", dtype, device)
    return randn(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def randint(*args, size=None, low=None, high=None, generator=None, dtype=None, device=None,
            requires_grad=False):
    """Integers drawn uniformly from ``[low, high)``: ``randint(high, size)`` or
    ``randint(low, high, size)`` as in PyTorch; int64 unless ``dtype`` is given.

    >>> randint(0, 10, (3,)).dtype
    dtype('int64')
    """
    if size is None and args:
        args, size = args[:-1], args[-1]
    if len(args) == 2:
        low, high = args
    elif len(args) == 1:
        if high is None:
            high = args[0]
        else:
            low = args[0]
    elif args:
        raise TypeError(f"randint() takes (high, size) or (low, high, size), got {len(args) + 1} "
                        "positional arguments")
    if high is None or size is None:
        raise TypeError("randint() needs high and size: randint(high, size) or "
                        "randint(low, high, size), e.g. randint(0, 10, (3,))")
    low = 0 if low is None else low
    if low >= high:
        raise RuntimeError(f"randint(): low must be less than high, got low={low}, high={high}")
    shape = _size((size,), None, "randint")
    dtype = numpy.dtype(dtype or dtypes.int64)
    gen = _generator(generator, device, "randint")
    with backend.on_device(device):
        array = gen.integers(int(low), int(high), size=shape, dtype=numpy.int64)
        return Tensor(array.astype(dtype, copy=False), requires_grad=requires_grad)


def randperm(n, generator=None, dtype=None, device=None, requires_grad=False):
    """A random permutation of ``0 .. n-1`` (int64 unless ``dtype`` is given)."""
    if n < 0:
        raise RuntimeError(f"randperm(): n must be non-negative, got {n}")
    dtype = numpy.dtype(dtype or dtypes.int64)
    gen = _generator(generator, device, "randperm")
    with backend.on_device(device):
        if isinstance(gen, numpy.random.Generator):
            array = gen.permutation(int(n))
        else:  # CuPy's generator has no permutation: the order of uniform keys is one
            array = backend.cupy.argsort(gen.random(int(n)))
        return Tensor(array.astype(dtype, copy=False), requires_grad=requires_grad)
