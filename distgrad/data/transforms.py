"""Image transforms with torchvision's names and numbers: ``ToTensor``, ``Normalize``, ``Compose``,
``Lambda``.

Each takes one image, as torchvision's do. ``ToTensor`` and ``Normalize`` (and a ``Compose`` of
them) also know how to transform a whole stack of N images at once, bit for bit as one by one;
data sets use that to transform all their images once instead of once per sample per epoch.
"""
import numpy

from distgrad.autograd import Tensor
from distgrad.backend import get_array_module, get_default_dtype

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
FASHION_MNIST_MEAN, FASHION_MNIST_STD = 0.2860, 0.3530


def _channels_first(images, image_ndim):
    """(..., H, W) or (..., H, W, C) images as (..., C, H, W) floats, as ``ToTensor`` gives them."""
    if images.ndim == image_ndim - 1:
        images = images[..., None]
    images = numpy.ascontiguousarray(numpy.moveaxis(images, -1, -3))
    if images.dtype == numpy.uint8:
        images = images.astype(get_default_dtype())
        images /= images.dtype.type(255)  # a division, not * (1/255): torchvision's values exactly
    return images


class ToTensor:
    """A (H, W) or (H, W, C) image array (or PIL image) to a Tensor of shape (C, H, W), as
    ``torchvision.transforms.ToTensor``: uint8 values are scaled to floats in [0, 1] (the default
    float dtype), other dtypes are kept.

    >>> ToTensor()(numpy.full((28, 28), 255, numpy.uint8)).shape
    (1, 28, 28)
    """

    def __call__(self, pic):
        """Return ``pic`` as a (C, H, W) Tensor."""
        if hasattr(pic, "getbands"):  # a PIL image, when the caller has Pillow
            pic = numpy.array(pic)
            if pic.dtype == numpy.bool_:  # mode "1"
                pic = pic.astype(numpy.uint8) * numpy.uint8(255)
        if not isinstance(pic, numpy.ndarray):
            raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        return Tensor(_channels_first(pic, 3))

    def _batch(self, images):
        """A stack of N images, (N, H, W) or (N, H, W, C), as one (N, C, H, W) array."""
        if images.ndim not in (3, 4):
            raise ValueError(f"ToTensor on a stack of images expects (N, H, W) or (N, H, W, C), "
                             f"got shape {images.shape}")
        return _channels_first(images, 4)

    def __repr__(self):
        return "ToTensor()"


class Normalize:
    """``(x - mean) / std`` per channel, as ``torchvision.transforms.Normalize``.

    ``mean``/``std`` are one value per channel (axis -3; one value serves every channel). The
    subtraction and the division are done in the image's float dtype, in that order, so values
    match torchvision's bit for bit. Takes a float Tensor (C, H, W), or a stack (N, C, H, W)
    Tensor or array; returns the same kind.

    >>> Normalize((0.1307,), (0.3081,))(ToTensor()(numpy.zeros((2, 2), numpy.uint8))).dtype
    dtype('float32')
    """

    def __init__(self, mean, std, inplace=False):
        self.mean, self.std, self.inplace = mean, std, inplace
        self._mean = numpy.asarray(mean, dtype=numpy.float64)
        self._std = numpy.asarray(std, dtype=numpy.float64)
        if self._mean.ndim > 1 or self._std.ndim > 1:
            raise ValueError(f"Normalize(mean={mean}, std={std}): expected numbers or one value "
                             "per channel")
        if numpy.any(self._std == 0):
            raise ValueError(f"Normalize(std={std}) would divide by zero")

    def _per_channel(self, values, x, xp):
        values = values.astype(x.dtype)
        if values.ndim == 1:
            if values.shape[0] not in (1, x.shape[-3]):
                raise ValueError(f"Normalize with {values.shape[0]} channel values got an image "
                                 f"of shape {x.shape}; expected (..., {values.shape[0]}, H, W)")
            values = values.reshape(-1, 1, 1)
        return xp.asarray(values)

    def _normalize(self, x, inplace):
        xp = get_array_module(x)
        if not xp.issubdtype(x.dtype, xp.floating):
            raise TypeError(f"Normalize expects a float image (values in [0, 1]), got {x.dtype}; "
                            "put ToTensor() before it: Compose([ToTensor(), Normalize(mean, std)])")
        if x.ndim < 3:
            raise ValueError(f"Normalize expects an image of shape (..., C, H, W), got shape "
                             f"{x.shape}")
        mean = self._per_channel(self._mean, x, xp)
        if inplace:
            x -= mean
        else:
            x = x - mean
        x /= self._per_channel(self._std, x, xp)
        return x

    def __call__(self, tensor):
        """Return the normalised ``tensor`` (in place with ``inplace=True``)."""
        if isinstance(tensor, Tensor):
            out = self._normalize(tensor.array, self.inplace)
            return tensor if self.inplace else Tensor(out)
        return self._normalize(tensor, self.inplace)

    def _batch(self, images):
        return self._normalize(images, inplace=False)

    def __repr__(self):
        return f"Normalize(mean={self.mean}, std={self.std})"


class Lambda:
    """Apply the function ``lambd`` to each image, as ``torchvision.transforms.Lambda``."""

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img):
        """Return ``lambd(img)``."""
        return self.lambd(img)

    def __repr__(self):
        return "Lambda()"


class Compose:
    """Apply ``transforms`` one after the other, as ``torchvision.transforms.Compose``."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, img):
        """Return ``img`` passed through every transform in order."""
        for transform in self.transforms:
            img = transform(img)
        return img

    def __repr__(self):
        return "\n".join([f"{type(self).__name__}("] +
                         [f"    {t!r}" for t in self.transforms] + [")"])


def _batched(transform):
    """A function that applies ``transform`` to a whole stack of images at once (the same values
    as image by image), or None when ``transform`` only takes single images."""
    if isinstance(transform, Compose):
        steps = [_batched(t) for t in transform.transforms]
        if any(step is None for step in steps):
            return None

        def apply(images):
            for step in steps:
                images = step(images)
            return images
        return apply
    return getattr(transform, "_batch", None)
