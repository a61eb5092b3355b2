"""``Flatten`` and ``Unflatten``: reshape layers between convolutional and linear parts."""
import math

from .module import Module


class Flatten(Module):
    """Flatten dimensions ``start_dim..end_dim`` (by default all but the batch dimension)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dimension ``dim`` into ``unflattened_size`` (which may hold one -1).

    >>> Unflatten(1, (2, 5))(distgrad.randn(3, 10)).shape
    (3, 2, 5)
    """

    def __init__(self, dim, unflattened_size):
        super().__init__()
        if isinstance(dim, str):
            raise TypeError(f"Unflatten got dim={dim!r}: named dimensions are not supported, "
                            f"pass the dimension's index")
        sizes = tuple(unflattened_size)
        if not sizes or not all(isinstance(n, int) for n in sizes):
            raise TypeError(f"Unflatten needs unflattened_size as a tuple of ints, got "
                            f"{unflattened_size!r}")
        self.dim, self.unflattened_size = dim, unflattened_size

    def forward(self, input):
        shape = tuple(input.shape)
        dim = self.dim % len(shape) if shape else 0
        sizes = tuple(self.unflattened_size)
        known = math.prod(n for n in sizes if n != -1)
        if (-1 not in sizes and known != shape[dim]) or (known and shape[dim] % known):
            raise ValueError(f"Unflatten got sizes {sizes} for dim {self.dim} of size "
                             f"{shape[dim]} in an input of shape {shape}: they must multiply to "
                             f"the dimension's size")
        return input.reshape(shape[:dim] + sizes + shape[dim + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
