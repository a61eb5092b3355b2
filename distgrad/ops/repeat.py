"""Copies of a tensor along dimensions: ``expand`` (a broadcast view, no copy) and ``repeat``
(tiled copies); both sum the gradient back over the copies."""
from ..autograd.function import ArrayFunction
from ..backend import get_array_module
from .broadcast import unbroadcast
from .dims import sizes_of


class Expand(ArrayFunction):
    def forward(self, x, shape):
        self.shape = x.shape
        return get_array_module(x).broadcast_to(x, shape)

    def backward(self, gy):
        return unbroadcast(gy, self.shape)


class Repeat(ArrayFunction):
    def forward(self, x, repeats):
        lead = (1,) * (len(repeats) - x.ndim)
        self.shape, self.repeats, self.grown = x.shape, repeats, lead + x.shape
        return get_array_module(x).tile(x.reshape(self.grown), repeats)

    def backward(self, gy):
        # Split every dimension into (copy, original) and add the copies up.
        split = [n for pair in zip(self.repeats, self.grown) for n in pair]
        return gy.reshape(split).sum(axis=tuple(range(0, len(split), 2))).reshape(self.shape)


def expand(x, *sizes):
    """``x`` broadcast to ``sizes`` without copying: -1 keeps a dimension, dimensions of size
    one stretch, new dimensions go in front."""
    sizes = sizes_of("expand", sizes)
    shape = tuple(x.shape)
    if len(sizes) < len(shape):
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater "
                           f"or equal to the number of dimensions in the tensor ({len(shape)})")
    lead = len(sizes) - len(shape)
    target = []
    for i, n in enumerate(sizes):
        old = shape[i - lead] if i >= lead else None
        if n == -1:
            if old is None:
                raise RuntimeError(f"expand: -1 is not allowed in a leading, new dimension "
                                   f"(size {i} of {list(sizes)})")
            n = old
        elif old is not None and old != 1 and old != n:
            raise RuntimeError(f"The expanded size of the tensor ({n}) must match the existing "
                               f"size ({old}) at non-singleton dimension {i}.  Target sizes: "
                               f"{list(sizes)}.  Tensor sizes: {list(shape)}")
        target.append(n)
    return Expand.apply(x, shape=tuple(target))


def repeat(x, *sizes):
    """``x`` tiled ``sizes[i]`` times along each dimension (extra sizes add leading dimensions)."""
    sizes = sizes_of("repeat", sizes)
    if len(sizes) < x.ndim:
        raise RuntimeError(f"Number of dimensions of repeat dims can not be smaller than number "
                           f"of dimensions of tensor: got {len(sizes)} sizes for a tensor of "
                           f"shape {tuple(x.shape)}")
    return Repeat.apply(x, repeats=sizes)
