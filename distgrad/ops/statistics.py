"""Spread and size of values: ``var``, ``std`` (with PyTorch's ``correction``) and the vector
``norm`` of any order. Each is one node whose gradient is zero where PyTorch's is (a constant
input's ``std``, the zero vector's ``norm``) rather than the 0/0 a composition would give."""
import warnings

import numpy

from ..autograd.function import ArrayFunction
from ..backend import get_array_module
from .dims import dim_tuple
from .reduction import _expand


def _count(shape, axes):
    count = 1
    for a in axes:
        count *= shape[a]
    return count


def _require_float(name, x):
    if x.dtype.kind not in "fc":
        raise RuntimeError(f"{name}(): input dtype should be floating point, got "
                           f"{x.dtype.name}: convert it first, e.g. x.float()")


class Var(ArrayFunction):
    root = False  # Std takes the square root of the same quantity

    def forward(self, x, axes, correction, keepdims):
        self.shape, self.axes, self.keepdims = x.shape, axes, keepdims
        self.divisor = max(0, _count(x.shape, axes) - correction)
        if self.divisor == 0:
            warnings.warn(f"{type(self).__name__.lower()}(): degrees of freedom is <= 0: the "
                          f"correction ({correction}) should be less than the number of values "
                          f"reduced ({_count(x.shape, axes)})", UserWarning, stacklevel=4)
        xp = get_array_module(x)
        self.centered = x - x.mean(axis=axes, keepdims=True)
        with numpy.errstate(divide="ignore", invalid="ignore"):
            y = xp.asarray((self.centered * self.centered).sum(axis=axes, keepdims=keepdims)
                           / x.dtype.type(self.divisor))
        if self.root:
            y = xp.sqrt(y)
            self.save_for_backward(y)
        return y

    def backward(self, gy):
        if self.root:
            y, = self.saved_tensors
            xp = get_array_module(gy)
            with numpy.errstate(divide="ignore", invalid="ignore"):
                gy = xp.where(y == 0, 0, gy / (2 * y)).astype(gy.dtype, copy=False)
        scale = 2 / gy.dtype.type(self.divisor) if self.divisor else gy.dtype.type(numpy.inf)
        return _expand(gy, self.shape, self.axes, self.keepdims) * (self.centered * scale)


class Std(Var):
    root = True


class Norm(ArrayFunction):
    def forward(self, x, p, axes, keepdims):
        self.p, self.shape, self.axes, self.keepdims = p, x.shape, axes, keepdims
        xp = get_array_module(x)
        a = xp.abs(x)
        if p == numpy.inf or p == -numpy.inf:
            y = a.max(axis=axes, keepdims=True) if p > 0 else a.min(axis=axes, keepdims=True)
        elif p == 0:
            y = (x != 0).sum(axis=axes, keepdims=True).astype(x.dtype)
        elif p == 1:
            y = a.sum(axis=axes, keepdims=True)
        elif p == 2:
            y = xp.sqrt((x * x).sum(axis=axes, keepdims=True))
        else:
            y = (a ** p).sum(axis=axes, keepdims=True) ** (1 / p)
        self.save_for_backward(x, y)
        return y if keepdims else y.reshape(tuple(n for i, n in enumerate(y.shape) if i not in axes))

    def backward(self, gy):
        x, y = self.saved_tensors
        xp, p = get_array_module(x), self.p
        gy = _expand(gy, self.shape, self.axes, self.keepdims)
        if p == 0:
            return xp.zeros(self.shape, dtype=gy.dtype)
        if p == 1:
            return gy * xp.sign(x)
        if p == numpy.inf or p == -numpy.inf:
            # Every element that attains the extreme magnitude shares the gradient equally.
            ties = (xp.abs(x) == y).astype(gy.dtype)
            ties /= ties.sum(axis=self.axes, keepdims=True)
            return gy * xp.sign(x) * ties
        with numpy.errstate(divide="ignore", invalid="ignore"):
            if p == 2:
                local = x / y
            else:
                local = xp.sign(x) * (xp.abs(x) / y) ** (p - 1)
        # The zero vector (and, for p < 1, a zero element) has gradient 0, as in PyTorch.
        return gy * xp.where((y == 0) | (x == 0), 0, local).astype(gy.dtype, copy=False)


def _correction(unbiased, correction):
    if correction is not None:
        if unbiased is not None:
            raise TypeError("give either unbiased or correction, not both")
        return correction
    return 1 if unbiased is None or unbiased else 0


def var(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance over ``dim`` (all elements when None) divided by ``N - correction``; the default
    ``correction=1`` (``unbiased=True``) is Bessel's, ``unbiased=False`` means ``correction=0``."""
    _require_float("var", x)
    return Var.apply(x, axes=dim_tuple(dim, x.ndim), correction=_correction(unbiased, correction),
                     keepdims=bool(keepdim))


def std(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Standard deviation: the square root of ``var`` with the same arguments."""
    _require_float("std", x)
    return Std.apply(x, axes=dim_tuple(dim, x.ndim), correction=_correction(unbiased, correction),
                     keepdims=bool(keepdim))


def norm(x, p="fro", dim=None, keepdim=False):
    """The vector ``p``-norm of ``x`` over ``dim`` (all elements when None): ``p`` is a number,
    ``inf``/``-inf`` (largest/smallest magnitude) or ``"fro"`` (the 2-norm)."""
    _require_float("norm", x)
    if isinstance(p, str):
        if p != "fro":
            raise RuntimeError(f"norm(): order {p!r} is not supported: use 'fro', a number, "
                               "inf or -inf")
        p = 2
    return Norm.apply(x, p=float(p), axes=dim_tuple(dim, x.ndim), keepdims=bool(keepdim))
