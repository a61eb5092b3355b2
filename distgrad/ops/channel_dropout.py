"""Channel-wise dropout (``dropout1d``, ``dropout2d``, ``dropout3d``): whole feature maps are
zeroed together, for convolutional features whose neighbouring values are correlated.

One keep-or-drop draw per (sample, channel), broadcast over the spatial dimensions, scaled by
``1 / (1 - p)`` as inverted dropout is.
"""
import numbers
import warnings

from .. import fused
from ..autograd.tensor import Tensor
from ..backend import default_generator, device_of, get_array_module
from .arithmetic import mul
from .shape import squeeze, unsqueeze


def _check_p(p):
    if not isinstance(p, numbers.Real) or not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p!r}")


def feature_dropout(input, p, training):
    """Zero each ``input[n, c]`` slice with probability ``p`` and scale the rest by
    ``1 / (1 - p)``; ``input`` itself when not ``training`` or when ``p`` is 0."""
    _check_p(p)
    if not training or p == 0:
        return input
    x = input.array
    if x.ndim < 2:
        raise ValueError(f"channel dropout needs input of shape (N, C, *), got shape {x.shape}")
    xp = get_array_module(x)
    shape = x.shape[:2] + (1,) * (x.ndim - 2)
    if p == 1:
        mask = xp.zeros(shape, dtype=x.dtype)
    else:
        uniform = default_generator(device_of(x)).random(shape, dtype=xp.float32)
        mask = fused.dropout_mask(uniform, p, x.dtype)
    return mul(input, Tensor._from_op(mask, None))


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Channel dropout for (N, C, L) or unbatched (C, L) input. ``inplace`` is accepted for
    PyTorch code; the result is always a new tensor."""
    _check_p(p)
    if len(input.shape) not in (2, 3):
        raise ValueError(f"dropout1d expects input of shape (N, C, L) or (C, L), got shape "
                         f"{tuple(input.shape)}")
    if len(input.shape) == 2:
        return squeeze(feature_dropout(unsqueeze(input, 0), p, training), 0)
    return feature_dropout(input, p, training)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Channel dropout for (N, C, H, W) input. As in PyTorch, 3-D input is read as (N, C, L)
    (with a warning), and other shapes get a warning and per-(n, c) dropout."""
    _check_p(p)
    ndim = len(input.shape)
    if ndim not in (3, 4):
        warnings.warn(f"dropout2d: received a {ndim}-D input; dropout2d is meant for 3-D or 4-D "
                      f"inputs and this will be an error in a future release: use dropout "
                      f"instead", stacklevel=2)
    if ndim == 3:
        warnings.warn("dropout2d: received a 3-D input and, as PyTorch does, reads it as "
                      "(N, C, L) with channel-wise 1-D dropout; use dropout1d to say so",
                      stacklevel=2)
    return feature_dropout(input, p, training)


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Channel dropout for (N, C, D, H, W) or unbatched (C, D, H, W) input."""
    _check_p(p)
    ndim = len(input.shape)
    if ndim not in (4, 5):
        warnings.warn(f"dropout3d: received a {ndim}-D input; dropout3d is meant for 4-D or 5-D "
                      f"inputs and this will be an error in a future release: use dropout "
                      f"instead", stacklevel=2)
    if ndim == 4:
        return squeeze(feature_dropout(unsqueeze(input, 0), p, training), 0)
    return feature_dropout(input, p, training)
