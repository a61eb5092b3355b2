"""Transforms applied to whole image arrays at once (N, C, H, W), NumPy or CuPy.

Data sets apply a transform once to all their images, so a transform must accept any number of
leading samples; elementwise ones like ``Normalize`` do.
"""
import numpy

from distgrad.backend import get_array_module

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
FASHION_MNIST_MEAN, FASHION_MNIST_STD = 0.2860, 0.3530


class Normalize:
    """``(x - mean) / std`` per channel, as ``torchvision.transforms.Normalize`` computes it.

    ``mean``/``std`` are numbers or one value per channel (axis -3). The subtraction and the
    division are done in the array's float dtype, in that order, so values match PyTorch's bit for
    bit.

    >>> Normalize(0.1307, 0.3081)(numpy.ones((2, 1, 28, 28), numpy.float32)).dtype
    dtype('float32')
    """

    def __init__(self, mean, std):
        self.mean = numpy.asarray(mean, dtype=numpy.float64)
        self.std = numpy.asarray(std, dtype=numpy.float64)
        if self.mean.ndim > 1 or self.std.ndim > 1:
            raise ValueError(f"Normalize(mean={mean}, std={std}): expected numbers or one value "
                             "per channel")
        if numpy.any(self.std == 0):
            raise ValueError(f"Normalize(std={std}) would divide by zero")

    def _per_channel(self, values, x, xp):
        values = values.astype(x.dtype)
        if values.ndim == 1:
            if x.ndim < 3 or x.shape[-3] != values.shape[0]:
                raise ValueError(f"Normalize with {values.shape[0]} channel values got an array "
                                 f"of shape {x.shape}; expected (..., {values.shape[0]}, H, W)")
            values = values.reshape(-1, 1, 1)
        return xp.asarray(values)

    def __call__(self, x):
        """Return the normalised copy of float array ``x``."""
        xp = get_array_module(x)
        if not xp.issubdtype(x.dtype, xp.floating):
            raise TypeError(f"Normalize expects a float array (images in [0, 1]), got {x.dtype}")
        out = x - self._per_channel(self.mean, x, xp)
        out /= self._per_channel(self.std, x, xp)
        return out

    def __repr__(self):
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class Compose:
    """Apply ``transforms`` one after the other."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x):
        """Return ``x`` passed through every transform in order."""
        for transform in self.transforms:
            x = transform(x)
        return x

    def __repr__(self):
        return f"Compose({self.transforms!r})"
