"""Slices of a tensor along a dimension: ``split``, ``chunk``, ``unbind``, ``narrow``,
``select`` and ``flip``. Each result is a differentiable basic-indexing slice of the input."""
import operator

from .dims import dim_index
from .shape import clone, getitem


def _pieces(x, dim, bounds):
    lead = (slice(None),) * dim
    return tuple(getitem(x, lead + (slice(a, b),)) for a, b in zip(bounds, bounds[1:]))


def split(x, split_size_or_sections, dim=0):
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or of the sizes in a
    list, which must add up to the dimension's size."""
    dim = dim_index(dim, x.ndim)
    n = x.shape[dim]
    if isinstance(split_size_or_sections, (tuple, list)):
        sizes = [operator.index(s) for s in split_size_or_sections]
        if sum(sizes) != n or min(sizes, default=0) < 0:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} "
                               f"(input tensor's size at dimension {dim}), but got "
                               f"split_sizes={sizes}")
    else:
        size = operator.index(split_size_or_sections)
        if size < 0 or (size == 0 and n):
            raise RuntimeError(f"split expects split_size be non-negative, and positive when the "
                               f"dimension is not empty, but got split_size={size} for size {n}")
        sizes = [min(size, n - start) for start in range(0, n, size)] if n else [0]
    bounds = [0]
    for s in sizes:
        bounds.append(bounds[-1] + s)
    return _pieces(x, dim, bounds)


def chunk(x, chunks, dim=0):
    """At most ``chunks`` pieces of equal size ``ceil(n / chunks)`` along ``dim`` (the last may
    be smaller, and there may be fewer pieces, as in PyTorch)."""
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    dim = dim_index(dim, x.ndim)
    n = x.shape[dim]
    if n == 0:  # an empty dimension still gives `chunks` (empty) pieces
        return _pieces(x, dim, [0] * (chunks + 1))
    return split(x, -(-n // chunks), dim)


def unbind(x, dim=0):
    """The slices of ``x`` along ``dim``, with that dimension removed."""
    dim = dim_index(dim, x.ndim)
    lead = (slice(None),) * dim
    return tuple(getitem(x, lead + (i,)) for i in range(x.shape[dim]))


def narrow(x, dim, start, length):
    """Elements ``start .. start + length - 1`` along ``dim``."""
    dim = dim_index(dim, x.ndim)
    n = x.shape[dim]
    start = operator.index(start)
    if start < 0:
        start += n
    if not 0 <= start <= n or not 0 <= length <= n - start:
        raise IndexError(f"narrow(): start ({start}) + length ({length}) exceeds dimension size "
                         f"({n}) of dimension {dim}")
    return getitem(x, (slice(None),) * dim + (slice(start, start + length),))


def select(x, dim, index):
    """The slice at ``index`` along ``dim``, that dimension removed."""
    dim = dim_index(dim, x.ndim)
    n = x.shape[dim]
    if not -n <= index < n:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{tuple(x.shape)} at dimension {dim}")
    return getitem(x, (slice(None),) * dim + (operator.index(index),))


def flip(x, dims):
    """``x`` with the order of elements reversed along each of ``dims``."""
    axes = [dim_index(d, x.ndim) for d in (dims if isinstance(dims, (tuple, list)) else (dims,))]
    if x.ndim == 0:
        return clone(x)
    index = [slice(None)] * x.ndim
    for a in axes:
        index[a] = slice(None, None, -1)
    return getitem(x, tuple(index))
