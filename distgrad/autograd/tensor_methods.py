"""``TensorMethods``: PyTorch's catalogue of Tensor methods — reductions, comparisons, dtype
conversions, shape, indexing, elementwise math and their in-place forms — each a thin call into
``distgrad.ops``. ``Tensor`` (``tensor.py``) inherits them and keeps what makes a tensor: its
array, ``.data``/``.grad``, autograd hooks, in-place updates and operators.

This module and ``tensor.py`` each need the other (methods build Tensors; a Tensor has these
methods), and ``distgrad.ops`` needs both. ``tensor.py`` therefore imports this module first and,
once ``Tensor`` and ``ops`` exist, hands them over with ``bind`` — so every name here is looked up
at call time, when all three are complete.
"""
import numbers

import numpy

from .. import backend

Tensor = ops = _as_array = None  # set by bind(), see the module docstring


def bind(tensor_class, ops_module, as_array):
    """Give this module ``Tensor``, ``distgrad.ops`` and ``tensor.py``'s array conversion
    (called once, by ``tensor.py``)."""
    global Tensor, ops, _as_array
    Tensor, ops, _as_array = tensor_class, ops_module, as_array
    # Python names a method by its qualified name in errors ("Tensor.sum() got an unexpected
    # keyword argument"); users call them on Tensor, so that is the name they should read.
    for name, member in vars(TensorMethods).items():
        function = member.fget if isinstance(member, property) else member
        if hasattr(function, "__qualname__"):
            function.__qualname__ = f"{tensor_class.__name__}.{name}"


class TensorMethods:
    """The methods PyTorch's Tensor has beyond its core (see the module docstring)."""

    __slots__ = ()

    # Reductions take ``dim`` as an int, a tuple or a list (NumPy's ``axis``/``keepdims`` are
    # accepted too, as PyTorch accepts them).
    def sum(self, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
        """Sum over ``dim`` (all elements when None); ``dtype`` casts first. Integers and bools
        sum to int64, as in PyTorch."""
        dim, keepdim = _numpy_spelling("sum", dim, keepdim, axis, keepdims)
        return ops.sum(self._accumulated(dtype), dim, keepdim)

    def mean(self, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
        """Mean over ``dim`` (all elements when None); ``dtype`` casts first. Needs a floating
        point tensor (or ``dtype``), as in PyTorch."""
        dim, keepdim = _numpy_spelling("mean", dim, keepdim, axis, keepdims)
        x = self if dtype is None else self._cast(dtype)
        if x.array.dtype.kind not in "fc":
            raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either "
                               f"a floating point or complex dtype. Got: {_dtype_name(x.dtype)} "
                               f"(call .float() first or pass dtype=)")
        return ops.mean(x, dim, keepdim)

    def prod(self, dim=None, keepdim=False, *, dtype=None):
        """Product of all elements, or along one ``dim``; integers multiply as int64."""
        return ops.prod(self._accumulated(dtype), dim, keepdim)

    def cumsum(self, dim, *, dtype=None):
        """Running sums along ``dim``; integers add up as int64."""
        return ops.cumsum(self._accumulated(dtype), dim)

    def max(self, dim=None, keepdim=False):
        """The largest element; ``(values, indices)`` along ``dim`` (a named tuple, as in
        PyTorch); or, given a tensor, the elementwise ``maximum``. Along a dimension the
        gradient goes to the first maximum; over all elements ties share it."""
        if isinstance(dim, Tensor):
            return ops.maximum(self, dim)
        return ops.max(self) if dim is None else ops.max_dim(self, dim, keepdim)

    def min(self, dim=None, keepdim=False):
        """The smallest element, ``(values, indices)`` along ``dim``, or the elementwise
        ``minimum`` with a tensor, like ``max``."""
        if isinstance(dim, Tensor):
            return ops.minimum(self, dim)
        return ops.min(self) if dim is None else ops.min_dim(self, dim, keepdim)

    def amax(self, dim=None, keepdim=False):
        """Maximum values over ``dim`` (an int or a tuple; all elements when None)."""
        return ops.max(self, dim, keepdim)

    def amin(self, dim=None, keepdim=False):
        """Minimum values over ``dim`` (an int or a tuple; all elements when None)."""
        return ops.min(self, dim, keepdim)

    def argmax(self, dim=None, keepdim=False):
        """Index of the first maximum along ``dim`` (of the flattened tensor when None)."""
        return ops.argmax(self, dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        """Index of the first minimum along ``dim`` (of the flattened tensor when None)."""
        return ops.argmin(self, dim, keepdim)

    def maximum(self, other):
        """Elementwise larger of this tensor and ``other`` (ties share the gradient)."""
        return ops.maximum(self, other)

    def minimum(self, other):
        """Elementwise smaller of this tensor and ``other`` (ties share the gradient)."""
        return ops.minimum(self, other)

    def var(self, dim=None, unbiased=True, keepdim=False, *, correction=None):
        """Variance over ``dim`` with Bessel's correction by default; ``unbiased=False`` or
        ``correction=0`` divides by N. ``var(False)`` reads the bool as ``unbiased``."""
        if isinstance(dim, bool):
            dim, unbiased = None, dim
        return ops.var(self, dim, None if correction is not None else unbiased, keepdim,
                       correction=correction)

    def std(self, dim=None, unbiased=True, keepdim=False, *, correction=None):
        """Standard deviation, with ``var``'s arguments."""
        if isinstance(dim, bool):
            dim, unbiased = None, dim
        return ops.std(self, dim, None if correction is not None else unbiased, keepdim,
                       correction=correction)

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        """The ``p``-norm over ``dim`` (all elements when None): ``p`` a number, ``inf``,
        ``-inf`` or ``"fro"`` (2-norm)."""
        return ops.norm(self if dtype is None else self._cast(dtype), p, dim, keepdim)

    def any(self, dim=None, keepdim=False):
        """Whether any element (over ``dim``) is nonzero, as a bool tensor."""
        return ops.any(self, dim, keepdim)

    def all(self, dim=None, keepdim=False):
        """Whether every element (over ``dim``) is nonzero, as a bool tensor."""
        return ops.all(self, dim, keepdim)

    def count_nonzero(self, dim=None):
        """Number of nonzero elements (over ``dim``), int64."""
        return ops.count_nonzero(self, dim)

    def nonzero(self, *, as_tuple=False):
        """Indices of nonzero elements, ``(count, ndim)`` int64 (one tensor per dim with
        ``as_tuple=True``)."""
        return ops.nonzero(self, as_tuple)

    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
        """The distinct values, ascending (see ``distgrad.unique``)."""
        return ops.unique(self, sorted, return_inverse, return_counts, dim)

    def softmax(self, dim):
        """Softmax along ``dim``."""
        return ops.softmax(self, _dim(dim, self.ndim))

    def log_softmax(self, dim):
        """Log-softmax along ``dim``."""
        return ops.log_softmax(self, _dim(dim, self.ndim))

    # --- comparisons and logic: bool tensors outside the graph ----------------------------
    def eq(self, other): return ops.eq(self, other)
    def ne(self, other): return ops.ne(self, other)
    def lt(self, other): return ops.lt(self, other)
    def le(self, other): return ops.le(self, other)
    def gt(self, other): return ops.gt(self, other)
    def ge(self, other): return ops.ge(self, other)
    def logical_not(self): return ops.logical_not(self)
    def logical_and(self, other): return ops.logical_and(self, other)
    def logical_or(self, other): return ops.logical_or(self, other)
    def logical_xor(self, other): return ops.logical_xor(self, other)
    def isnan(self): return ops.isnan(self)
    def isinf(self): return ops.isinf(self)
    def isfinite(self): return ops.isfinite(self)

    eq.__doc__ = "Elementwise ``self == other`` as a bool tensor."
    ne.__doc__ = "Elementwise ``self != other`` as a bool tensor."
    lt.__doc__ = "Elementwise ``self < other`` as a bool tensor."
    le.__doc__ = "Elementwise ``self <= other`` as a bool tensor."
    gt.__doc__ = "Elementwise ``self > other`` as a bool tensor."
    ge.__doc__ = "Elementwise ``self >= other`` as a bool tensor."
    logical_not.__doc__ = "Elementwise NOT of truth values (nonzero is True)."
    logical_and.__doc__ = "Elementwise AND of truth values."
    logical_or.__doc__ = "Elementwise OR of truth values."
    logical_xor.__doc__ = "Elementwise XOR of truth values."
    isnan.__doc__ = "Elementwise: is the value NaN."
    isinf.__doc__ = "Elementwise: is the value infinite."
    isfinite.__doc__ = "Elementwise: is the value neither infinite nor NaN."

    def equal(self, other):
        """True when ``other`` has this shape and these values."""
        return ops.equal(self, other)

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        """True when ``|self - other| <= atol + rtol * |other|`` everywhere."""
        return ops.allclose(self, other, rtol, atol, equal_nan)

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        """Elementwise ``|self - other| <= atol + rtol * |other|`` as a bool tensor."""
        return ops.isclose(self, other, rtol, atol, equal_nan)

    def __and__(self, other): return ops.bitwise("bitwise_and", "&", self, other)
    def __rand__(self, other): return ops.bitwise("bitwise_and", "&", other, self)
    def __or__(self, other): return ops.bitwise("bitwise_or", "|", self, other)
    def __ror__(self, other): return ops.bitwise("bitwise_or", "|", other, self)
    def __xor__(self, other): return ops.bitwise("bitwise_xor", "^", self, other)
    def __rxor__(self, other): return ops.bitwise("bitwise_xor", "^", other, self)
    def __invert__(self): return ops.bitwise("invert", "~ (operator.invert)", self)

    # --- dtype, type and memory -----------------------------------------------------------
    def _cast(self, dtype):
        """This tensor as ``dtype``: itself when it already is; through the graph for floating
        dtypes; outside it otherwise (integers and bools have no gradient)."""
        dtype = _dtype(dtype)
        if dtype == self.array.dtype:
            return self
        if dtype.kind in "fc":
            return ops.to(self, dtype=dtype)
        return Tensor._from_op(self.array.astype(dtype), None)

    def _accumulated(self, dtype):
        # Sums and products of integers and bools accumulate in int64, as in PyTorch.
        if dtype is not None:
            return self._cast(dtype)
        return self._cast(numpy.int64) if self.array.dtype.kind in "biu" else self

    def float(self): return self._cast(numpy.float32)
    def double(self): return self._cast(numpy.float64)
    def half(self): return self._cast(numpy.float16)
    def long(self): return self._cast(numpy.int64)
    def int(self): return self._cast(numpy.int32)
    def short(self): return self._cast(numpy.int16)
    def char(self): return self._cast(numpy.int8)
    def byte(self): return self._cast(numpy.uint8)
    def bool(self): return self._cast(numpy.bool_)

    float.__doc__ = "This tensor as float32 (itself when it already is), as ``to(float32)``."
    double.__doc__ = "This tensor as float64 (itself when it already is)."
    half.__doc__ = "This tensor as float16 (itself when it already is)."
    long.__doc__ = "This tensor as int64 (outside the graph: integers have no gradient)."
    int.__doc__ = "This tensor as int32 (outside the graph)."
    short.__doc__ = "This tensor as int16 (outside the graph)."
    char.__doc__ = "This tensor as int8 (outside the graph)."
    byte.__doc__ = "This tensor as uint8 (outside the graph)."
    bool.__doc__ = "This tensor as bool: True where nonzero (outside the graph)."

    def type(self, dtype=None, non_blocking=False):
        """With no argument, PyTorch's type string (``'torch.FloatTensor'``,
        ``'torch.cuda.LongTensor'``...); else this tensor as ``dtype`` — a dtype, a type string
        like ``'torch.DoubleTensor'``, or a legacy type such as ``distgrad.FloatTensor``."""
        if dtype is None:
            name = _TYPE_NAMES.get(self.array.dtype)
            if name is None:
                raise TypeError(f"dtype {_dtype_name(self.array.dtype)} has no legacy type name")
            return f"torch.{'cuda.' if self.is_cuda else ''}{name}"
        if isinstance(dtype, str):
            cuda, dtype = _parse_type_string(dtype)
            out = self._cast(dtype)
            if cuda != self.is_cuda:
                out = out.to("cuda" if cuda else "cpu")
            return out
        try:
            return self._cast(dtype)
        except TypeError:  # a legacy type such as distgrad.FloatTensor carries its dtype
            return self._cast(getattr(dtype, "dtype", dtype))

    def type_as(self, other):
        """This tensor with ``other``'s dtype."""
        return self._cast(other.dtype)

    def is_floating_point(self):
        """True for float16/32/64 tensors."""
        return self.array.dtype.kind == "f"

    def element_size(self):
        """Bytes per element."""
        return self.array.dtype.itemsize

    def get_device(self):
        """The GPU number of a CUDA tensor, -1 on the CPU."""
        return -1 if self.device.index is None else self.device.index

    def contiguous(self):
        """This tensor when its elements are laid out in row-major order, else a copy that is."""
        return self if self.array.flags.c_contiguous else ops.clone(self)

    def is_contiguous(self):
        """True when the elements are laid out in row-major order with no gaps."""
        return bool(self.array.flags.c_contiguous)

    def pin_memory(self):
        """This tensor (host memory needs no pinning for NumPy; kept so scripts run)."""
        return self

    def is_pinned(self):
        """False: distgrad does not page-lock host memory."""
        return False

    def detach_(self):
        """Take this tensor out of the graph in place (it becomes a leaf without grad)."""
        self.grad_fn = None
        self.requires_grad = False
        return self

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        """A new tensor from ``data`` with this tensor's dtype and device unless given."""
        array = _as_array(data, dtype=_dtype(self.array.dtype if dtype is None else dtype),
                          device=self.device if device is None else device)
        if array is (data.array if isinstance(data, Tensor) else data):
            array = array.copy()
        return Tensor(array, requires_grad=requires_grad)

    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
        """A tensor of ``size`` filled with ``fill_value``, this tensor's dtype and device unless
        given."""
        xp = backend.get_array_module(self.array)
        array = xp.full_like(self.array, fill_value, shape=_size_arg("new_full", size),
                             dtype=_dtype(self.array.dtype if dtype is None else dtype))
        if device is not None:
            array = backend.to_device(array, device)
        return Tensor(array, requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        """Zeros of ``size``, this tensor's dtype and device unless given."""
        return self.new_full(size, 0, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        """Ones of ``size``, this tensor's dtype and device unless given."""
        return self.new_full(size, 1, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        """A tensor of ``size`` (filled with zeros here), this tensor's dtype and device."""
        return self.new_full(size, 0, dtype=dtype, device=device, requires_grad=requires_grad)

    def dim(self):
        """Number of dimensions."""
        return self.array.ndim

    ndimension = dim

    def numel(self):
        """Number of elements (PyTorch's name for ``size``)."""
        return self.array.size

    nelement = numel

    def __format__(self, spec):
        # As PyTorch: a 0-d tensor formats as its number (f"{loss:.3f}"), others as text.
        if self.array.ndim == 0:
            return format(self.item(), spec)
        return object.__format__(self, spec)

    # --- shape ----------------------------------------------------------------------------
    def reshape(self, *shape):
        """The same data with a new shape (one dimension may be -1)."""
        return ops.reshape(self, shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape)

    view = reshape

    def view_as(self, other):
        """This tensor with ``other``'s shape."""
        return ops.reshape(self, other.shape)

    reshape_as = view_as

    def transpose(self, *axes):
        """Permute dimensions: no arguments reverses them; two ints swap those two (PyTorch)."""
        if len(axes) == 2:
            axes = (_dim(axes[0], self.ndim), _dim(axes[1], self.ndim))
        return ops.transpose(self, axes)

    def permute(self, *axes):
        """Reorder dimensions to ``axes``."""
        return ops.permute(self, axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes)

    T = property(lambda self: ops.permute(self, tuple(range(self.ndim - 1, -1, -1))),
                 doc="Dimensions reversed.")

    def t(self):
        """A matrix transposed (vectors come back as they are)."""
        return ops.t(self)

    def flatten(self, start_dim=0, end_dim=-1):
        """Merge dimensions ``start_dim..end_dim`` into one."""
        start, end = _dim(start_dim, self.ndim), _dim(end_dim, self.ndim)
        if start > end:
            raise RuntimeError(f"flatten() has invalid args: start_dim ({start_dim}) cannot come "
                               f"after end_dim ({end_dim})")
        return ops.flatten(self, start, end)

    def unflatten(self, dim, sizes):
        """Split dimension ``dim`` into ``sizes`` (one may be -1)."""
        dim = _dim(dim, self.ndim)
        return ops.reshape(self, self.shape[:dim] + tuple(sizes) + self.shape[dim + 1:])

    def unsqueeze(self, dim):
        """Insert a dimension of size one at ``dim``."""
        return ops.unsqueeze(self, _dim(dim, self.ndim + 1))

    def squeeze(self, dim=None):
        """Remove dimensions of size one (only those in ``dim``, an int or a tuple, when given)."""
        if dim is None:
            return ops.squeeze(self)
        dims = ops.dims.dim_tuple(dim, self.ndim)
        return ops.reshape(self, [n for i, n in enumerate(self.shape) if i not in dims or n != 1])

    def expand(self, *sizes):
        """A broadcast view of ``sizes`` (-1 keeps a dimension; size-one dimensions stretch)."""
        return ops.expand(self, *sizes)

    def expand_as(self, other):
        """A broadcast view with ``other``'s shape."""
        return ops.expand(self, other.shape)

    def repeat(self, *sizes):
        """Tiled ``sizes[i]`` times along each dimension."""
        return ops.repeat(self, *sizes)

    def chunk(self, chunks, dim=0):
        """At most ``chunks`` equal pieces along ``dim`` (a tuple of tensors)."""
        return ops.chunk(self, chunks, dim)

    def split(self, split_size, dim=0):
        """Pieces of ``split_size`` (an int, or a list of sizes) along ``dim``."""
        return ops.split(self, split_size, dim)

    def unbind(self, dim=0):
        """The slices along ``dim``, that dimension removed (a tuple)."""
        return ops.unbind(self, dim)

    def narrow(self, dim, start, length):
        """Elements ``start .. start + length - 1`` along ``dim``."""
        return ops.narrow(self, dim, start, length)

    def select(self, dim, index):
        """The slice at ``index`` along ``dim``."""
        return ops.select(self, dim, index)

    def flip(self, *dims):
        """Reverse the order of elements along ``dims``."""
        return ops.flip(self, dims[0] if len(dims) == 1 else dims)

    def resize_(self, *sizes):
        """Give this tensor a new shape with the same number of elements, in place."""
        shape = ops.dims.sizes_of("resize_", sizes)
        count = 1
        for n in shape:
            count *= n
        if count != self.array.size:
            raise RuntimeError(f"resize_ to {shape} needs {count} elements, the tensor has "
                               f"{self.array.size}: use reshape, or create a new tensor")
        return self._inplace(lambda _: setattr(self, "array", self.array.reshape(shape)))

    # --- indexing and selection -----------------------------------------------------------
    def gather(self, dim, index):
        """Values at ``index`` (int64) along ``dim``: ``out[i][j] = self[i][index[i][j]]``."""
        return ops.gather(self, dim, index)

    def index_select(self, dim, index):
        """The slices at positions ``index`` (1-D) along ``dim``."""
        return ops.index_select(self, dim, index)

    def masked_fill(self, mask, value):
        """A copy with ``value`` where the bool ``mask`` is True."""
        return ops.masked_fill(self, mask, value)

    def masked_select(self, mask):
        """The elements where the bool ``mask`` is True, as a 1-D tensor."""
        return ops.masked_select(self, mask)

    def masked_fill_(self, mask, value):
        """Set ``value`` where the bool ``mask`` is True, in place."""
        where = ops.selection.bool_mask("masked_fill_", mask)
        value = value.array if isinstance(value, Tensor) else value
        xp = backend.get_array_module(self.array)
        return self._inplace(lambda _: xp.copyto(self.array, xp.asarray(value, dtype=self.dtype),
                                                 where=where))

    def scatter_(self, dim, index, src=None, value=None, *, reduce=None):
        """Write ``src`` (a tensor or a number; ``value=`` too) at ``index`` along ``dim`` in
        place: ``self[i][index[i][j]] = src[i][j]`` for ``dim=1``; ``reduce="add"`` adds."""
        src = value if src is None else src
        return self._inplace(lambda _: ops.indexing.scatter_into(
            self.array, dim, index, src, add=reduce == "add"))

    def scatter_add_(self, dim, index, src):
        """``self[i][index[i][j]] += src[i][j]`` for ``dim=1``, in place; repeats add up."""
        return self._inplace(lambda _: ops.indexing.scatter_into(self.array, dim, index, src, add=True))

    def sort(self, dim=-1, descending=False, *, stable=False):
        """``(values, indices)`` sorted along ``dim`` (a named tuple); ties keep their order."""
        return ops.sort(self, dim, descending, stable)

    def argsort(self, dim=-1, descending=False, *, stable=False):
        """Indices (int64) that sort this tensor along ``dim``."""
        return ops.argsort(self, dim, descending, stable)

    def topk(self, k, dim=-1, largest=True, sorted=True):
        """``(values, indices)`` of the ``k`` largest (``largest=False``: smallest) along ``dim``."""
        return ops.topk(self, k, dim, largest, sorted)

    # --- arithmetic and elementwise math --------------------------------------------------
    def add(self, other, *, alpha=1):
        """``self + alpha * other``."""
        return ops.add(self, other if alpha == 1 else ops.mul(other, alpha))

    def sub(self, other, *, alpha=1):
        """``self - alpha * other``."""
        return ops.sub(self, other if alpha == 1 else ops.mul(other, alpha))

    def mul(self, other):
        """``self * other``."""
        return ops.mul(self, other)

    def div(self, other, *, rounding_mode=None):
        """``self / other`` (true division, floats for integers); ``rounding_mode="floor"`` or
        ``"trunc"`` rounds the quotient."""
        return ops.divide(self, other, rounding_mode)

    multiply, subtract, divide, true_divide = mul, sub, div, div

    def floor_divide(self, other):
        """``self // other``, rounded down."""
        return ops.floor_divide(self, other)

    def remainder(self, other):
        """``self % other`` with the sign of ``other``."""
        return ops.remainder(self, other)

    def pow(self, exponent):
        """``self ** exponent``."""
        return ops.pow(self, exponent)

    def matmul(self, other):
        """Matrix product with broadcasting (``self @ other``)."""
        return ops.matmul(self, other)

    def mm(self, mat2):
        """Product of two matrices."""
        return ops.mm(self, mat2)

    def bmm(self, mat2):
        """Batched matrix product of two 3-D tensors."""
        return ops.bmm(self, mat2)

    def dot(self, other):
        """Inner product of two vectors."""
        return ops.dot(self, other)

    def outer(self, vec2):
        """Outer product of two vectors."""
        return ops.outer(self, vec2)

    def clamp(self, min=None, max=None):
        """Limit values to ``[min, max]``; the gradient is zero where clipping happened."""
        if min is None and max is None:
            raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
        return ops.clip(self, min, max)

    clip = clamp

    def exp(self): return ops.exp(_floating(self))
    def log(self): return ops.log(_floating(self))
    def log1p(self): return ops.log1p(_floating(self))
    def sqrt(self): return ops.sqrt(_floating(self))
    def rsqrt(self): return ops.rsqrt(_floating(self))
    def reciprocal(self): return ops.reciprocal(_floating(self))
    def square(self): return ops.square(self)
    def sin(self): return ops.sin(_floating(self))
    def cos(self): return ops.cos(_floating(self))
    def relu(self): return ops.relu(self)
    def sigmoid(self): return ops.sigmoid(self)
    def tanh(self): return ops.tanh(self)
    def abs(self): return ops.abs(self)
    def neg(self): return ops.neg(self)
    def sign(self): return ops.sign(self)
    def floor(self): return ops.floor(self)
    def ceil(self): return ops.ceil(self)
    def trunc(self): return ops.trunc(self)

    def round(self, *, decimals=0):
        """Round half to even (to ``decimals`` places); the gradient is zero."""
        return ops.round(self, decimals)

    exp.__doc__ = "Elementwise e**x."
    log.__doc__ = "Elementwise natural logarithm."
    log1p.__doc__ = "Elementwise log(1 + x), accurate for small x."
    sqrt.__doc__ = "Elementwise square root."
    rsqrt.__doc__ = "Elementwise 1 / sqrt(x)."
    reciprocal.__doc__ = "Elementwise 1 / x."
    square.__doc__ = "Elementwise x * x."
    sin.__doc__ = "Elementwise sine."
    cos.__doc__ = "Elementwise cosine."
    relu.__doc__ = "Elementwise max(x, 0)."
    sigmoid.__doc__ = "Elementwise 1 / (1 + e**-x)."
    tanh.__doc__ = "Elementwise hyperbolic tangent."
    abs.__doc__ = "Elementwise absolute value."
    neg.__doc__ = "Elementwise -x."
    sign.__doc__ = "Elementwise -1, 0 or 1 (gradient zero)."
    floor.__doc__ = "Elementwise round down (gradient zero)."
    ceil.__doc__ = "Elementwise round up (gradient zero)."
    trunc.__doc__ = "Elementwise round toward zero (gradient zero)."

    negative, absolute, fix = neg, abs, trunc

    def __abs__(self): return ops.abs(self)
    def __floordiv__(self, other): return ops.floor_divide(self, other)
    def __rfloordiv__(self, other): return ops.floor_divide(other, self)
    def __mod__(self, other): return ops.remainder(self, other)
    def __rmod__(self, other): return ops.remainder(other, self)

    # --- in-place forms of the methods above (outside the graph, as ``add_``) ---------------
    def _assign_(self, out, name):
        """Write ``out``, computed from this tensor, into its memory and return self."""
        if out.array.dtype.kind in "fc" and self.array.dtype.kind not in "fc":
            raise RuntimeError(f"{name}: result type {_dtype_name(out.dtype)} can't be cast to the "
                               f"desired output type {_dtype_name(self.dtype)}: call .float() first")
        return self._inplace(lambda v: self.array.__setitem__(Ellipsis, v), out)

    def relu_(self): return self._assign_(self.relu(), "relu_")
    def sigmoid_(self): return self._assign_(self.sigmoid(), "sigmoid_")
    def tanh_(self): return self._assign_(self.tanh(), "tanh_")
    def exp_(self): return self._assign_(self.exp(), "exp_")
    def log_(self): return self._assign_(self.log(), "log_")
    def log1p_(self): return self._assign_(self.log1p(), "log1p_")
    def sqrt_(self): return self._assign_(self.sqrt(), "sqrt_")
    def rsqrt_(self): return self._assign_(self.rsqrt(), "rsqrt_")
    def reciprocal_(self): return self._assign_(self.reciprocal(), "reciprocal_")
    def square_(self): return self._assign_(self.square(), "square_")
    def sin_(self): return self._assign_(self.sin(), "sin_")
    def cos_(self): return self._assign_(self.cos(), "cos_")
    def abs_(self): return self._assign_(self.abs(), "abs_")
    def neg_(self): return self._assign_(self.neg(), "neg_")
    def sign_(self): return self._assign_(self.sign(), "sign_")
    def floor_(self): return self._assign_(self.floor(), "floor_")
    def ceil_(self): return self._assign_(self.ceil(), "ceil_")
    def trunc_(self): return self._assign_(self.trunc(), "trunc_")

    for _method in (relu_, sigmoid_, tanh_, exp_, log_, log1p_, sqrt_, rsqrt_, reciprocal_, square_,
                    sin_, cos_, abs_, neg_, sign_, floor_, ceil_, trunc_):
        _method.__doc__ = f"In-place ``{_method.__name__[:-1]}()``: overwrite this tensor, return it."
    del _method

    def round_(self, *, decimals=0):
        """In-place ``round()``."""
        return self._assign_(self.round(decimals=decimals), "round_")

    def pow_(self, exponent):
        """In-place ``pow(exponent)``."""
        return self._assign_(self.pow(exponent), "pow_")

    def addcmul_(self, tensor1, tensor2, *, value=1):
        """``self += value * tensor1 * tensor2`` in place."""
        return self._assign_(self + ops.mul(ops.mul(tensor1, tensor2), value), "addcmul_")

    def addcdiv_(self, tensor1, tensor2, *, value=1):
        """``self += value * tensor1 / tensor2`` in place."""
        return self._assign_(self + ops.mul(ops.div(tensor1, tensor2), value), "addcdiv_")

    def index_add_(self, dim, index, source, *, alpha=1):
        """Add ``alpha * source``'s slices into this tensor at positions ``index`` along ``dim``,
        in place; repeated indices add up."""
        dim = _dim(dim, self.ndim)
        index = index.array if isinstance(index, Tensor) else index
        values = source.array if isinstance(source, Tensor) else source
        where = (slice(None),) * dim + (index,)
        return self._inplace(lambda _: backend.index_add(
            self.array, where, values if alpha == 1 else values * alpha))

    def _reshape_(self, shape):
        return self._inplace(lambda _: setattr(self, "array", self.array.reshape(shape)))

    def unsqueeze_(self, dim):
        """In-place ``unsqueeze(dim)`` (this tensor's shape changes)."""
        return self._reshape_(self.unsqueeze(dim).shape)

    def squeeze_(self, dim=None):
        """In-place ``squeeze(dim)`` (this tensor's shape changes)."""
        return self._reshape_(self.squeeze(dim).shape)

    def t_(self):
        """In-place ``t()``: this tensor becomes its transpose."""
        out = self.t().array
        return self._inplace(lambda _: setattr(self, "array", out))

    def transpose_(self, dim0, dim1):
        """In-place ``transpose(dim0, dim1)``."""
        out = self.transpose(dim0, dim1).array
        return self._inplace(lambda _: setattr(self, "array", out))


def _index_arrays(index):
    """An index with its Tensors (masks, index lists) replaced by their arrays."""
    if isinstance(index, Tensor):
        return index.array
    if isinstance(index, tuple):
        return tuple(i.array if isinstance(i, Tensor) else i for i in index)
    return index


def _scaled(other, alpha):
    return (other.array if isinstance(other, Tensor) else other) * alpha


def _dtype_name(dtype):
    return numpy.dtype(dtype).name


def _compare(a, b, name):
    if isinstance(b, Tensor):
        b = b.array
    elif not isinstance(b, (numbers.Number, numpy.ndarray)) and backend.get_array_module(b) is numpy:
        return NotImplemented
    return Tensor._from_op(getattr(backend.get_array_module(a.array), name)(a.array, b), None)


def _dim(dim, ndim):
    return ops.dims.dim_index(dim, ndim)


def _dtype(dtype):
    try:
        return numpy.dtype(dtype)
    except TypeError:
        raise TypeError(f"expected a dtype such as distgrad.float32, got {dtype!r}") from None


def _floating(t):
    """``t``, or ``t`` as the default float dtype when it holds integers or bools: PyTorch's
    exp, log, sin... give floats for them."""
    if t.array.dtype.kind in "fc":
        return t
    return Tensor._from_op(t.array.astype(backend.get_default_dtype()), None)


def _numpy_spelling(name, dim, keepdim, axis, keepdims):
    """``dim``/``keepdim`` from either PyTorch's names or NumPy's ``axis``/``keepdims``."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"Tensor.{name}() got both 'dim' and 'axis': pass one of them")
        dim = axis
    return dim, keepdim if keepdims is None else keepdims


def _size_arg(name, size):
    return ops.dims.sizes_of(name, size if isinstance(size, tuple) else (size,))


# PyTorch's legacy type names, which ``Tensor.type()`` returns and accepts.
_TYPE_NAMES = {numpy.dtype(k): v for k, v in (
    ("float32", "FloatTensor"), ("float64", "DoubleTensor"), ("float16", "HalfTensor"),
    ("int64", "LongTensor"), ("int32", "IntTensor"), ("int16", "ShortTensor"),
    ("int8", "CharTensor"), ("uint8", "ByteTensor"), ("bool", "BoolTensor"))}
_TYPE_DTYPES = {v: k for k, v in _TYPE_NAMES.items()}


def _parse_type_string(text):
    """``(on_cuda, dtype)`` for a type string such as ``'torch.cuda.FloatTensor'`` (the
    ``distgrad.`` prefix works too)."""
    parts = text.split(".")
    library, cuda, name = parts[0], parts[1:-1] == ["cuda"], parts[-1]
    if library not in ("torch", "distgrad") or parts[1:-1] not in ([], ["cuda"]) \
            or name not in _TYPE_DTYPES:
        raise ValueError(f"invalid type: {text!r}; expected one like 'torch.FloatTensor' or "
                         f"'torch.cuda.LongTensor' ({', '.join(sorted(_TYPE_DTYPES))})")
    return cuda, _TYPE_DTYPES[name]
