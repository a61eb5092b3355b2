"""Batch normalisation (PyTorch's ``F.batch_norm``) over (N, C) and (N, C, H, W) inputs.

One fused node with the closed-form backward. In training the batch statistics normalise
(biased variance) and the running statistics move toward them in place with PyTorch's rule —
whose running variance is the *unbiased* one.
"""
from ..autograd.function import ArrayFunction
from ..autograd.tensor import Tensor
from ..backend import get_array_module


class BatchNorm(ArrayFunction):
    def forward(self, x, weight, bias, running_mean, running_var, training, momentum, eps):
        xp = get_array_module(x)
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        if training:
            mean = x.mean(axis=axes)
            centred = x - mean.reshape(shape)
            var = (centred * centred).mean(axis=axes)
            if running_mean is not None:
                running_mean *= 1 - momentum
                running_mean += momentum * mean
            if running_var is not None:
                count = x.size // x.shape[1]
                running_var *= 1 - momentum
                running_var += (momentum * count / (count - 1)) * var
        else:
            centred = x - running_mean.reshape(shape)
            var = running_var
        invstd = (1 / xp.sqrt(var + eps)).astype(x.dtype, copy=False)
        xhat = centred
        xhat *= invstd.reshape(shape)
        y = xhat * weight.reshape(shape) if weight is not None else xhat.copy()
        if bias is not None:
            y += bias.reshape(shape)
        self.save_for_backward(xhat, invstd, weight)
        self.training, self.axes, self.shape = training, axes, shape
        return y

    def backward(self, gy):
        xhat, invstd, weight = self.saved_tensors
        axes, shape = self.axes, self.shape
        scale = invstd if weight is None else invstd * weight
        gx = gw = gb = None
        if self.training or self.needs_input_grad[1] or self.needs_input_grad[2]:
            sum_gy = gy.sum(axis=axes)
            sum_gy_xhat = (gy * xhat).sum(axis=axes)
        if self.needs_input_grad[0]:
            if self.training:
                # The batch statistics depend on x too: subtract the gradient's projection on
                # the mean and on xhat (the standard closed form).
                count = gy.size // gy.shape[1]
                gx = gy - (sum_gy / count).reshape(shape)
                gx -= xhat * (sum_gy_xhat / count).reshape(shape)
                gx *= scale.reshape(shape)
            else:
                gx = gy * scale.reshape(shape)
        if self.needs_input_grad[1]:
            gw = sum_gy_xhat
        if self.needs_input_grad[2]:
            gb = sum_gy
        return gx, gw, gb


def _data(t):
    return t.array if isinstance(t, Tensor) else t


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalise each channel (dimension 1) of an (N, C) or (N, C, H, W) input.

    Args:
        running_mean, running_var: (C,) Tensors or arrays (or None), updated in place when
            ``training``; used for normalising when not.
        weight, bias: optional (C,) affine parameters.
        training: use the batch statistics (and update the running ones).
        momentum: ``running = (1 - momentum) * running + momentum * batch_stat``.
        eps: added to the variance before the square root.

    >>> x = distgrad.randn(8, 3)
    >>> mean, var = distgrad.zeros(3), distgrad.ones(3)
    >>> batch_norm(x, mean, var, training=True).shape
    (8, 3)
    """
    shape = tuple(input.shape)
    if len(shape) < 2:
        raise ValueError(f"batch_norm expects input of shape (N, C) or (N, C, H, W), got shape "
                         f"{shape}")
    c = shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"batch_norm got input of shape {shape} with {c} channels but "
                             f"{name} of shape {tuple(t.shape)}: expected ({c},)")
    if training and input.size // c <= 1:
        raise ValueError(f"batch_norm in training needs more than one value per channel to "
                         f"compute a variance, got input of shape {shape}")
    if not training and (running_mean is None or running_var is None):
        raise ValueError("batch_norm with training=False normalises with running_mean and "
                         "running_var, but one of them is None")
    return BatchNorm.apply(input, weight, bias, running_mean=_data(running_mean),
                           running_var=_data(running_var), training=bool(training),
                           momentum=momentum, eps=eps)
