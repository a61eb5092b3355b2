"""Checking ``dim`` and size arguments the way PyTorch does: negative dims count from the end,
a dim out of range is an ``IndexError`` that gives the valid range, sizes come as ints or as
one tuple."""
import operator


def dim_index(dim, ndim):
    """``dim`` as an index in ``0..ndim-1`` (a 0-d tensor accepts 0 and -1, as in PyTorch).

    >>> dim_index(-1, 3)
    2
    """
    try:
        dim = operator.index(dim)
    except TypeError:
        raise TypeError(f"dim must be an int, got {type(dim).__name__} {dim!r}") from None
    top = max(ndim, 1)
    if not -top <= dim < top:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-top}, {top - 1}], "
                         f"but got {dim})")
    return dim % top


def dim_tuple(dim, ndim):
    """Sorted distinct indices for ``dim``: an int, a tuple or list of ints, or None or ``()``
    for all dimensions (PyTorch's reductions read an empty tuple as "all")."""
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    if dim is None or not dims:
        return tuple(range(ndim))
    found = []
    for d in dims:
        index = dim_index(d, ndim)
        if index in found:
            raise RuntimeError(f"dim {index} appears multiple times in the list of dims")
        found.append(index)
    return tuple(sorted(found)) if ndim else ()


def sizes_of(name, sizes):
    """``sizes`` given as ints or as one tuple/list (PyTorch accepts both), checked to be ints."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = sizes[0]
    try:
        return tuple(operator.index(n) for n in sizes)
    except TypeError:
        raise TypeError(f"{name}() takes sizes as ints or one tuple of ints, got "
                        f"{tuple(sizes)!r}") from None
