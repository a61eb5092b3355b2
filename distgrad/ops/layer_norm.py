"""``layer_norm`` and ``group_norm``: normalise each sample over its trailing dimensions.

One fused node normalises over the last k dimensions with the closed-form backward (as
``batch_norm`` does over the batch); ``group_norm`` reshapes channels into groups, normalises
each group with it, and applies its per-channel affine by ordinary broadcasting ops.
"""
from ..autograd.function import ArrayFunction
from ..backend import get_array_module
from .arithmetic import add, mul
from .shape import reshape


class LayerNorm(ArrayFunction):
    def forward(self, x, weight, bias, ndims, eps):
        xp = get_array_module(x)
        axes = tuple(range(x.ndim - ndims, x.ndim))
        centred = x - x.mean(axis=axes, keepdims=True)
        var = (centred * centred).mean(axis=axes, keepdims=True)
        invstd = (1 / xp.sqrt(var + eps)).astype(x.dtype, copy=False)
        xhat = centred
        xhat *= invstd
        y = xhat * weight if weight is not None else xhat.copy()
        if bias is not None:
            y += bias
        self.save_for_backward(xhat, invstd, weight)
        self.axes = axes
        return y

    def backward(self, gy):
        xhat, invstd, weight = self.saved_tensors
        axes = self.axes
        lead = tuple(range(gy.ndim - len(axes)))
        gx = gw = gb = None
        if self.needs_input_grad[0]:
            g = gy * weight if weight is not None else gy
            # The mean and variance depend on x: remove g's projection on 1 and on xhat.
            gx = g - g.mean(axis=axes, keepdims=True)
            gx -= xhat * (g * xhat).mean(axis=axes, keepdims=True)
            gx *= invstd
        if self.needs_input_grad[1]:
            gw = (gy * xhat).sum(axis=lead)
        if self.needs_input_grad[2]:
            gb = gy.sum(axis=lead)
        return gx, gw, gb


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the last ``len(normalized_shape)`` dimensions (biased variance), then
    scale by ``weight`` and shift by ``bias`` (both of shape ``normalized_shape``) if given.

    >>> layer_norm(distgrad.randn(4, 10), (10,)).shape
    (4, 10)
    """
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if not shape or len(shape) > len(input.shape) or tuple(input.shape[-len(shape):]) != shape:
        raise ValueError(f"layer_norm got input of shape {tuple(input.shape)} with "
                         f"normalized_shape={shape}: the input must end with those dimensions")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise ValueError(f"layer_norm got {name} of shape {tuple(t.shape)}: expected "
                             f"normalized_shape {shape}")
    return LayerNorm.apply(input, weight, bias, ndims=len(shape), eps=eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Split the channels (dimension 1) into ``num_groups`` groups and normalise each sample's
    group over its channels and positions; then the per-channel ``weight`` and ``bias``."""
    shape = tuple(input.shape)
    if len(shape) < 2:
        raise ValueError(f"group_norm expects input of shape (N, C, *), got shape {shape}")
    channels = shape[1]
    if num_groups <= 0 or channels % num_groups:
        raise ValueError(f"group_norm got num_groups={num_groups} for {channels} channels: "
                         f"the number of channels must be divisible by the number of groups")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (channels,):
            raise ValueError(f"group_norm got {name} of shape {tuple(t.shape)}: expected "
                             f"({channels},)")
    grouped = reshape(input, (shape[0], num_groups, -1))
    y = reshape(LayerNorm.apply(grouped, None, None, ndims=1, eps=eps), shape)
    affine_shape = (channels,) + (1,) * (len(shape) - 2)
    if weight is not None:
        y = mul(y, reshape(weight, affine_shape))
    if bias is not None:
        y = add(y, reshape(bias, affine_shape))
    return y
