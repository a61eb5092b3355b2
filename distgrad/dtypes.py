"""Dtypes under PyTorch's names (``distgrad.float``, ``distgrad.long``, ...), the default float
dtype, ``finfo``/``iinfo`` and the promotion rule that ``distgrad.tensor`` infers dtypes with.

A distgrad dtype is a NumPy dtype (``distgrad.dtype`` is ``numpy.dtype``), so it goes wherever
NumPy and CuPy take one, and ``x.dtype is distgrad.float32`` holds as in PyTorch.
"""
import builtins as _builtins

import numpy

dtype = numpy.dtype

float16 = numpy.dtype(numpy.float16)
float32 = numpy.dtype(numpy.float32)
float64 = numpy.dtype(numpy.float64)
complex64 = numpy.dtype(numpy.complex64)
complex128 = numpy.dtype(numpy.complex128)
int8 = numpy.dtype(numpy.int8)
int16 = numpy.dtype(numpy.int16)
int32 = numpy.dtype(numpy.int32)
int64 = numpy.dtype(numpy.int64)
uint8 = numpy.dtype(numpy.uint8)
bool_ = numpy.dtype(numpy.bool_)

_default_float = float32
_FLOATING = (float16, float32, float64)


def get_default_dtype():
    """The float dtype given to Python floats and to new float tensors (float32 at start)."""
    return _default_float


def set_default_dtype(d):
    """Make ``d`` (float16, float32 or float64) the dtype of Python floats and new float tensors,
    as ``torch.set_default_dtype``; Python complex numbers follow (complex64 or complex128)."""
    global _default_float
    try:
        d = numpy.dtype(d)
    except TypeError:
        raise TypeError(f"set_default_dtype({d!r}): expected a dtype such as "
                        "distgrad.float64") from None
    if d not in _FLOATING:
        raise TypeError(f"only floating-point types are supported as the default type, got "
                        f"{d.name}: use distgrad.float32 or distgrad.float64")
    _default_float = d


def default_complex():
    """The complex dtype Python complex numbers become: the default float dtype's partner."""
    return complex128 if _default_float == float64 else complex64


def is_floating_dtype(d):
    """True for float16/32/64 (PyTorch's ``dtype.is_floating_point``)."""
    return numpy.dtype(d).kind == "f"


# bool < integer < floating < complex: across these, PyTorch keeps the higher category's dtype
# (int64 with float32 gives float32, where NumPy would widen to float64).
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def promote_types(a, b):
    """The dtype PyTorch gives a result of dtypes ``a`` and ``b`` (``torch.promote_types``)."""
    a, b = numpy.dtype(a), numpy.dtype(b)
    ca, cb = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if ca == cb or {ca, cb} == {2, 3}:
        return numpy.promote_types(a, b)
    return a if ca > cb else b


class finfo:
    """Limits of a float dtype as Python floats, as ``torch.finfo``: ``bits, eps, max, min,
    tiny, smallest_normal, resolution, dtype`` (a name such as ``"float32"``).

    >>> finfo(float32).eps
    1.1920928955078125e-07
    """

    def __init__(self, type=None):
        d = numpy.dtype(_default_float if type is None else type)
        if d.kind not in "fc":
            raise TypeError(f"finfo() requires a floating point dtype, got {d.name}: use "
                            "distgrad.iinfo for integer dtypes")
        info = numpy.finfo(d)
        real = _builtins.float
        self.bits = _builtins.int(info.bits)
        self.eps, self.max, self.min = real(info.eps), real(info.max), real(info.min)
        self.tiny = self.smallest_normal = real(info.smallest_normal)
        self.resolution = 10.0 ** -info.precision  # exactly 1e-6 for float32, as PyTorch's
        self.dtype = info.dtype.name

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, "
                f"dtype={self.dtype})")


class iinfo:
    """Limits of an integer dtype as Python ints, as ``torch.iinfo``: ``bits, max, min, dtype``."""

    def __init__(self, type):
        d = numpy.dtype(type)
        if d.kind not in "iu":
            raise TypeError(f"iinfo() requires an integer dtype, got {d.name}: use distgrad.finfo "
                            "for floating point dtypes")
        info = numpy.iinfo(d)
        whole = _builtins.int
        self.bits, self.max, self.min = whole(info.bits), whole(info.max), whole(info.min)
        self.dtype = d.name

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


# PyTorch's short names. They shadow the builtins ``float``, ``int`` and ``bool`` in this module,
# so code here reaches those through ``_builtins``.
half = float16
float = float32  # noqa: A001
double = float64
cfloat = complex64
cdouble = complex128
short = int16
int = int32  # noqa: A001
long = int64
bool = bool_  # noqa: A001
