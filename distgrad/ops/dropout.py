"""``dropout`` with inverted scaling (PyTorch's ``F.dropout``), reproducible under ``manual_seed``.

Kept elements are multiplied by ``1 / (1 - p)`` at training time, so evaluation is the identity.
The mask comes from the device's default generator, drawn as float32 (half the random bits of
float64 — dropout sits on the MLP's hot path).
"""
import numbers

from .. import fused
from ..autograd.function import ArrayFunction
from ..backend import default_generator, device_of, get_array_module


class Dropout(ArrayFunction):
    def forward(self, x, p):
        xp = get_array_module(x)
        if p == 1:
            self.mask = xp.zeros_like(x)
        else:
            uniform = default_generator(device_of(x)).random(x.shape, dtype=xp.float32)
            self.mask = fused.dropout_mask(uniform, p, x.dtype)
        return x * self.mask

    def backward(self, gy):
        return gy * self.mask


def dropout(input, p=0.5, training=True):
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    Returns ``input`` itself when not ``training`` or when ``p`` is 0; zeros when ``p`` is 1.

    >>> distgrad.manual_seed(0)
    >>> dropout(distgrad.ones(2, 3), p=0.5).shape
    (2, 3)
    """
    if not isinstance(p, numbers.Real) or not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p!r}")
    if not training or p == 0:
        return input
    return Dropout.apply(input, p=float(p))
