"""Module-level math, as PyTorch's ``torch.exp(x)``, ``torch.max(x, 1)``, ``torch.where(...)``:
each takes the Tensor first (``input``) and does what the Tensor method of the same name does;
the elementwise, arithmetic, product and reduction functions take PyTorch's ``out=`` too.

>>> x = distgrad.tensor([[1.0, 5.0], [7.0, 2.0]])
>>> distgrad.max(x, 1).indices
tensor([1, 0])
"""
from . import ops
from .autograd.tensor import Tensor

__all__ = ["abs", "absolute", "add", "all", "allclose", "amax", "amin", "any", "argmax", "argmin",
           "argsort", "bmm", "ceil", "chunk", "clamp", "clip", "clone", "cos", "count_nonzero",
           "cumsum", "div", "divide", "dot", "eq", "equal", "exp", "flatten", "flip", "floor",
           "floor_divide", "gather", "ge", "gt", "index_select", "isclose", "isfinite", "isinf",
           "isnan", "le", "log", "log1p", "log_softmax", "logical_and", "logical_not",
           "logical_or", "logical_xor", "lt", "masked_fill", "masked_select", "matmul", "max",
           "maximum", "mean", "min", "minimum", "mm", "mul", "multiply", "narrow", "ne", "neg",
           "negative", "nonzero", "norm", "outer", "permute", "pow", "prod",
           "reciprocal", "relu", "remainder", "reshape", "round", "rsqrt", "select", "sigmoid",
           "sign", "sin", "softmax", "sort", "split", "sqrt", "square", "squeeze", "std", "sub",
           "subtract", "sum", "t", "tanh", "topk", "transpose", "true_divide", "trunc", "unbind",
           "unique", "unsqueeze", "var", "where"]


def _tensor(name, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"distgrad.{name}(): argument 'input' must be a Tensor, not "
                        f"{type(input).__name__}: wrap it with distgrad.tensor(...)")
    return input


def _into(out, result, name):
    """``result``, or with PyTorch's ``out=``: ``result`` written into ``out`` (resized to its
    shape when they differ), which is returned."""
    if out is None:
        return result
    if result.requires_grad:
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic "
                           f"differentiation, but one of the arguments requires grad")
    if result.array.dtype.kind in "fc" and out.array.dtype.kind not in "fc":
        raise RuntimeError(f"{name}(): result type {result.dtype.name} can't be cast to the "
                           f"desired output type {out.dtype.name}")
    if out.shape != result.shape:
        array = result.array.astype(out.dtype)
        return out._inplace(lambda _: setattr(out, "array", array))
    return out.copy_(result)


# --- elementwise ------------------------------------------------------------------------------
def exp(input, *, out=None):
    """Elementwise ``e**x``."""
    return _into(out, _tensor("exp", input).exp(), "exp")


def log(input, *, out=None):
    """Elementwise natural logarithm."""
    return _into(out, _tensor("log", input).log(), "log")


def log1p(input, *, out=None):
    """Elementwise ``log(1 + x)``, accurate for small ``x``."""
    return _into(out, _tensor("log1p", input).log1p(), "log1p")


def sqrt(input, *, out=None):
    """Elementwise square root."""
    return _into(out, _tensor("sqrt", input).sqrt(), "sqrt")


def rsqrt(input, *, out=None):
    """Elementwise ``1 / sqrt(x)``."""
    return _into(out, _tensor("rsqrt", input).rsqrt(), "rsqrt")


def reciprocal(input, *, out=None):
    """Elementwise ``1 / x``."""
    return _into(out, _tensor("reciprocal", input).reciprocal(), "reciprocal")


def square(input, *, out=None):
    """Elementwise ``x * x``."""
    return _into(out, _tensor("square", input).square(), "square")


def sin(input, *, out=None):
    """Elementwise sine."""
    return _into(out, _tensor("sin", input).sin(), "sin")


def cos(input, *, out=None):
    """Elementwise cosine."""
    return _into(out, _tensor("cos", input).cos(), "cos")


def tanh(input, *, out=None):
    """Elementwise hyperbolic tangent."""
    return _into(out, _tensor("tanh", input).tanh(), "tanh")


def sigmoid(input, *, out=None):
    """Elementwise logistic function ``1 / (1 + e**-x)``."""
    return _into(out, _tensor("sigmoid", input).sigmoid(), "sigmoid")


def relu(input):
    """Elementwise ``max(x, 0)``."""
    return _tensor("relu", input).relu()


def abs(input, *, out=None):
    """Elementwise absolute value."""
    return _into(out, _tensor("abs", input).abs(), "abs")


def neg(input, *, out=None):
    """Elementwise ``-x``."""
    return _into(out, _tensor("neg", input).neg(), "neg")


def sign(input, *, out=None):
    """Elementwise -1, 0 or 1 (gradient zero)."""
    return _into(out, _tensor("sign", input).sign(), "sign")


def floor(input, *, out=None):
    """Elementwise round down (gradient zero)."""
    return _into(out, _tensor("floor", input).floor(), "floor")


def ceil(input, *, out=None):
    """Elementwise round up (gradient zero)."""
    return _into(out, _tensor("ceil", input).ceil(), "ceil")


def round(input, *, decimals=0, out=None):
    """Round half to even, to ``decimals`` places (gradient zero)."""
    return _into(out, _tensor("round", input).round(decimals=decimals), "round")


def trunc(input, *, out=None):
    """Elementwise round toward zero (gradient zero)."""
    return _into(out, _tensor("trunc", input).trunc(), "trunc")


def clamp(input, min=None, max=None, *, out=None):
    """Limit values to ``[min, max]`` (either may be None); the gradient is zero where clipped."""
    return _into(out, _tensor("clamp", input).clamp(min, max), "clamp")


def pow(input, exponent, *, out=None):
    """``input ** exponent``; either may be a number."""
    return _into(out, ops.pow(input, exponent), "pow")


def add(input, other, *, alpha=1, out=None):
    """``input + alpha * other``."""
    return _into(out, ops.add(input, other if alpha == 1 else ops.mul(other, alpha)), "add")


def sub(input, other, *, alpha=1, out=None):
    """``input - alpha * other``."""
    return _into(out, ops.sub(input, other if alpha == 1 else ops.mul(other, alpha)), "sub")


def mul(input, other, *, out=None):
    """``input * other``."""
    return _into(out, ops.mul(input, other), "mul")


def div(input, other, *, rounding_mode=None, out=None):
    """``input / other``; ``rounding_mode="floor"`` or ``"trunc"`` rounds the quotient."""
    return _into(out, ops.divide(input, other, rounding_mode), "div")


def floor_divide(input, other, *, out=None):
    """``input // other``, rounded down."""
    return _into(out, ops.floor_divide(input, other), "floor_divide")


def remainder(input, other, *, out=None):
    """``input % other`` with the sign of ``other``."""
    return _into(out, ops.remainder(input, other), "remainder")


def maximum(input, other, *, out=None):
    """Elementwise larger of two tensors (ties share the gradient)."""
    return _into(out, ops.maximum(input, other), "maximum")


def minimum(input, other, *, out=None):
    """Elementwise smaller of two tensors (ties share the gradient)."""
    return _into(out, ops.minimum(input, other), "minimum")


def where(condition, input=None, other=None):
    """``input`` where ``condition`` holds, else ``other`` (either may be a number); with only
    ``condition``, the indices where it holds, one tensor per dimension."""
    if input is None and other is None:
        return ops.nonzero(condition, as_tuple=True)
    if input is None or other is None:
        raise TypeError("distgrad.where() takes either only condition, or condition, input and other")
    return ops.where(condition, input, other)


# --- reductions --------------------------------------------------------------------------------
def sum(input, dim=None, keepdim=False, *, dtype=None, out=None):
    """Sum over ``dim`` (an int, a tuple or list; all elements when None)."""
    return _into(out, _tensor("sum", input).sum(dim, keepdim, dtype=dtype), "sum")


def mean(input, dim=None, keepdim=False, *, dtype=None, out=None):
    """Mean over ``dim`` (an int, a tuple or list; all elements when None)."""
    return _into(out, _tensor("mean", input).mean(dim, keepdim, dtype=dtype), "mean")


def prod(input, dim=None, keepdim=False, *, dtype=None, out=None):
    """Product of all elements, or along one ``dim``."""
    return _into(out, _tensor("prod", input).prod(dim, keepdim, dtype=dtype), "prod")


def cumsum(input, dim, *, dtype=None, out=None):
    """Running sums along ``dim``."""
    return _into(out, _tensor("cumsum", input).cumsum(dim, dtype=dtype), "cumsum")


def max(input, dim=None, keepdim=False):
    """The largest element; ``(values, indices)`` along ``dim`` (a named tuple); or, given a
    second tensor (``max(input, other)``), the elementwise ``maximum``."""
    return _tensor("max", input).max(dim, keepdim)


def min(input, dim=None, keepdim=False):
    """The smallest element; ``(values, indices)`` along ``dim``; or the elementwise
    ``minimum`` with a second tensor."""
    return _tensor("min", input).min(dim, keepdim)


def amax(input, dim=(), keepdim=False):
    """Largest values over ``dim`` (an int or a tuple; all elements when empty)."""
    return _tensor("amax", input).amax(dim, keepdim)


def amin(input, dim=(), keepdim=False):
    """Smallest values over ``dim`` (an int or a tuple; all elements when empty)."""
    return _tensor("amin", input).amin(dim, keepdim)


def argmax(input, dim=None, keepdim=False):
    """Index (int64) of the first maximum along ``dim`` (of the flattened tensor when None)."""
    return _tensor("argmax", input).argmax(dim, keepdim)


def argmin(input, dim=None, keepdim=False):
    """Index (int64) of the first minimum along ``dim`` (of the flattened tensor when None)."""
    return _tensor("argmin", input).argmin(dim, keepdim)


def var(input, dim=None, unbiased=True, keepdim=False, *, correction=None, out=None):
    """Variance over ``dim``, divided by ``N - correction`` (Bessel's ``correction=1`` by default)."""
    return _into(out, _tensor("var", input).var(dim, unbiased, keepdim, correction=correction), "var")


def std(input, dim=None, unbiased=True, keepdim=False, *, correction=None, out=None):
    """Standard deviation, with ``var``'s arguments."""
    return _into(out, _tensor("std", input).std(dim, unbiased, keepdim, correction=correction), "std")


def norm(input, p="fro", dim=None, keepdim=False, dtype=None, *, out=None):
    """The ``p``-norm over ``dim``: ``p`` a number, ``inf``, ``-inf`` or ``"fro"`` (2-norm)."""
    return _into(out, _tensor("norm", input).norm(p, dim, keepdim, dtype), "norm")


def any(input, dim=None, keepdim=False):
    """Whether any element (over ``dim``) is nonzero, as a bool tensor."""
    return ops.any(_tensor("any", input), dim, keepdim)


def all(input, dim=None, keepdim=False):
    """Whether every element (over ``dim``) is nonzero, as a bool tensor."""
    return ops.all(_tensor("all", input), dim, keepdim)


def count_nonzero(input, dim=None):
    """Number of nonzero elements (over ``dim``), int64."""
    return ops.count_nonzero(_tensor("count_nonzero", input), dim)


def softmax(input, dim):
    """Softmax along ``dim``."""
    return _tensor("softmax", input).softmax(dim)


def log_softmax(input, dim):
    """Log-softmax along ``dim``."""
    return _tensor("log_softmax", input).log_softmax(dim)


# --- comparisons and logic ---------------------------------------------------------------------
def eq(input, other):
    """Elementwise ``input == other`` as a bool tensor."""
    return ops.eq(_tensor("eq", input), other)


def ne(input, other):
    """Elementwise ``input != other`` as a bool tensor."""
    return ops.ne(_tensor("ne", input), other)


def lt(input, other):
    """Elementwise ``input < other`` as a bool tensor."""
    return ops.lt(_tensor("lt", input), other)


def le(input, other):
    """Elementwise ``input <= other`` as a bool tensor."""
    return ops.le(_tensor("le", input), other)


def gt(input, other):
    """Elementwise ``input > other`` as a bool tensor."""
    return ops.gt(_tensor("gt", input), other)


def ge(input, other):
    """Elementwise ``input >= other`` as a bool tensor."""
    return ops.ge(_tensor("ge", input), other)


def equal(input, other):
    """True when both tensors have the same shape and values."""
    return ops.equal(input, other)


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True when ``|input - other| <= atol + rtol * |other|`` everywhere."""
    return ops.allclose(input, other, rtol, atol, equal_nan)


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Elementwise ``|input - other| <= atol + rtol * |other|`` as a bool tensor."""
    return ops.isclose(input, other, rtol, atol, equal_nan)


def isnan(input):
    """Elementwise: is the value NaN."""
    return ops.isnan(_tensor("isnan", input))


def isinf(input):
    """Elementwise: is the value infinite."""
    return ops.isinf(_tensor("isinf", input))


def isfinite(input):
    """Elementwise: is the value neither infinite nor NaN."""
    return ops.isfinite(_tensor("isfinite", input))


def logical_not(input):
    """Elementwise NOT of truth values."""
    return ops.logical_not(input)


def logical_and(input, other):
    """Elementwise AND of truth values."""
    return ops.logical_and(input, other)


def logical_or(input, other):
    """Elementwise OR of truth values."""
    return ops.logical_or(input, other)


def logical_xor(input, other):
    """Elementwise XOR of truth values."""
    return ops.logical_xor(input, other)


def nonzero(input, *, as_tuple=False):
    """Indices of nonzero elements: int64 ``(count, ndim)``, or one tensor per dimension."""
    return ops.nonzero(_tensor("nonzero", input), as_tuple)


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values, ascending; optionally each element's position among them and
    each value's count."""
    return ops.unique(_tensor("unique", input), sorted, return_inverse, return_counts, dim)


# --- products ----------------------------------------------------------------------------------
def matmul(input, other, *, out=None):
    """Matrix product with broadcasting over batch dimensions (vectors allowed)."""
    return _into(out, ops.matmul(input, other), "matmul")


def mm(input, mat2, *, out=None):
    """Product of two matrices: (n, m) @ (m, p) -> (n, p)."""
    return _into(out, ops.mm(input, mat2), "mm")


def bmm(input, mat2, *, out=None):
    """Batched matrix product: (b, n, m) @ (b, m, p) -> (b, n, p)."""
    return _into(out, ops.bmm(input, mat2), "bmm")


def dot(input, other, *, out=None):
    """Inner product of two vectors."""
    return _into(out, ops.dot(input, other), "dot")


def outer(input, vec2, *, out=None):
    """Outer product of two vectors."""
    return _into(out, ops.outer(input, vec2), "outer")


# --- shape, indexing and sorting ---------------------------------------------------------------
def flatten(input, start_dim=0, end_dim=-1):
    """Merge dimensions ``start_dim..end_dim`` into one."""
    return _tensor("flatten", input).flatten(start_dim, end_dim)


def reshape(input, shape):
    """The same data with a new shape (one dimension may be -1)."""
    return _tensor("reshape", input).reshape(shape)


def squeeze(input, dim=None):
    """Remove dimensions of size one (only those in ``dim`` when given)."""
    return _tensor("squeeze", input).squeeze(dim)


def unsqueeze(input, dim):
    """Insert a dimension of size one at ``dim``."""
    return _tensor("unsqueeze", input).unsqueeze(dim)


def transpose(input, dim0, dim1):
    """Swap dimensions ``dim0`` and ``dim1``."""
    return _tensor("transpose", input).transpose(dim0, dim1)


def permute(input, dims):
    """Reorder the dimensions to ``dims``."""
    return _tensor("permute", input).permute(dims)


def t(input):
    """A matrix transposed (vectors come back as they are)."""
    return ops.t(_tensor("t", input))


def clone(input):
    """A copy with its own memory (the gradient flows back)."""
    return _tensor("clone", input).clone()


def chunk(input, chunks, dim=0):
    """At most ``chunks`` equal pieces along ``dim``."""
    return ops.chunk(_tensor("chunk", input), chunks, dim)


def split(tensor, split_size_or_sections, dim=0):
    """Pieces of ``split_size_or_sections`` (an int, or a list of sizes) along ``dim``."""
    return ops.split(_tensor("split", tensor), split_size_or_sections, dim)


def unbind(input, dim=0):
    """The slices along ``dim``, that dimension removed."""
    return ops.unbind(_tensor("unbind", input), dim)


def narrow(input, dim, start, length):
    """Elements ``start .. start + length - 1`` along ``dim``."""
    return ops.narrow(_tensor("narrow", input), dim, start, length)


def select(input, dim, index):
    """The slice at ``index`` along ``dim``."""
    return ops.select(_tensor("select", input), dim, index)


def flip(input, dims):
    """Reverse the order of elements along ``dims``."""
    return ops.flip(_tensor("flip", input), dims)


def gather(input, dim, index):
    """Values at ``index`` along ``dim``: ``out[i][j] = input[i][index[i][j]]`` for ``dim=1``."""
    return ops.gather(_tensor("gather", input), dim, index)


def index_select(input, dim, index):
    """The slices at positions ``index`` (1-D) along ``dim``."""
    return ops.index_select(_tensor("index_select", input), dim, index)


def masked_fill(input, mask, value):
    """A copy of ``input`` with ``value`` where the bool ``mask`` is True."""
    return ops.masked_fill(_tensor("masked_fill", input), mask, value)


def masked_select(input, mask):
    """The elements where the bool ``mask`` is True, as a 1-D tensor."""
    return ops.masked_select(_tensor("masked_select", input), mask)


def sort(input, dim=-1, descending=False, stable=False):
    """``(values, indices)`` sorted along ``dim`` (a named tuple); ties keep their order."""
    return ops.sort(_tensor("sort", input), dim, descending, stable)


def argsort(input, dim=-1, descending=False, stable=False):
    """Indices (int64) that sort ``input`` along ``dim``."""
    return ops.argsort(_tensor("argsort", input), dim, descending, stable)


def topk(input, k, dim=-1, largest=True, sorted=True):
    """``(values, indices)`` of the ``k`` largest (``largest=False``: smallest) along ``dim``."""
    return ops.topk(_tensor("topk", input), k, dim, largest, sorted)


clip, absolute, negative, multiply, subtract, divide, true_divide = clamp, abs, neg, mul, sub, div, div
