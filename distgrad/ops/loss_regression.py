"""Regression losses beside ``mse_loss``: ``l1_loss``, ``smooth_l1_loss``, ``huber_loss``.

As in PyTorch, an input and target of different shapes broadcast with a warning, and an
elementwise ``weight`` makes 'mean' the weighted mean ``sum(w * loss) / sum(w)`` (l1, mse) or
the plain mean of ``w * loss`` (huber).
"""
import warnings

from ..autograd.function import ArrayFunction
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from .arithmetic import div, mul, sub
from .broadcast import unbroadcast
from .elementwise import abs
from .loss_reduction import reduce_loss, resolve_reduction
from .reduction import sum


class SmoothL1(ArrayFunction):
    def forward(self, input, target, beta, scale):
        xp = get_array_module(input)
        d = input - target
        a = xp.abs(d)
        self.quadratic = a < beta  # PyTorch's switch, strict: |d| == beta is on the linear side
        self.save_for_backward(d)
        self.beta, self.scale = beta, scale
        self.shapes = (getattr(input, "shape", ()), getattr(target, "shape", ()))
        safe_beta = beta if beta > 0 else 1.0  # beta 0 never takes the quadratic side
        loss = xp.where(self.quadratic, (0.5 / safe_beta) * d * d, a - 0.5 * beta)
        return loss * loss.dtype.type(scale) if scale != 1 else loss

    def backward(self, gy):
        d, = self.saved_tensors
        xp = get_array_module(d)
        safe_beta = self.beta if self.beta > 0 else 1.0
        slope = xp.where(self.quadratic, d / d.dtype.type(safe_beta), xp.sign(d))
        g = gy * slope * gy.dtype.type(self.scale)
        return (unbroadcast(g, self.shapes[0]) if self.needs_input_grad[0] else None,
                unbroadcast(-g, self.shapes[1]) if self.needs_input_grad[1] else None)


def warn_on_broadcast(input, target):
    if tuple(getattr(target, "shape", ())) != tuple(input.shape):
        warnings.warn(f"Using a target size ({tuple(getattr(target, 'shape', ()))}) that is "
                      f"different to the input size ({tuple(input.shape)}). This will likely "
                      f"lead to incorrect results due to broadcasting. Please ensure they have "
                      f"the same size.", stacklevel=3)


def _weight_tensor(name, weight, input):
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError(f"{name} got weight of shape {tuple(weight.shape)} for input of shape "
                         f"{tuple(input.shape)}: weights and input must have the same size")
    return weight if isinstance(weight, Tensor) else Tensor(weight)


def weighted_reduce(name, losses, weight, reduction):
    """``weight * losses`` reduced with PyTorch's weighted mean ``sum(w * l) / sum(w)``."""
    weighted = mul(losses, _weight_tensor(name, weight, losses))
    if reduction == "none":
        return weighted
    total = sum(weighted)
    return total if reduction == "sum" else div(total, sum(_weight_tensor(name, weight, losses)))


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error ``|input - target|`` (gradient 0 where they are equal, as PyTorch)."""
    warn_on_broadcast(input, target)
    reduction = resolve_reduction("l1_loss", size_average, reduce, reduction)
    losses = abs(sub(input, target))
    if weight is not None:
        return weighted_reduce("l1_loss", losses, weight, reduction)
    return reduce_loss(losses, reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``, with ``d = input -
    target``; ``beta=0`` is the L1 loss."""
    warn_on_broadcast(input, target)
    reduction = resolve_reduction("smooth_l1_loss", size_average, reduce, reduction)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss got beta={beta}: it must be non-negative")
    return reduce_loss(SmoothL1.apply(input, target, beta=float(beta), scale=1.0), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """``0.5 d^2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``: ``delta`` times
    the smooth L1 loss with ``beta = delta``."""
    warn_on_broadcast(input, target)
    reduction = resolve_reduction("huber_loss", None, None, reduction)
    if not delta > 0:
        raise ValueError(f"huber_loss got delta={delta}: it must be positive")
    losses = SmoothL1.apply(input, target, beta=float(delta), scale=float(delta))
    if weight is not None:
        losses = mul(losses, _weight_tensor("huber_loss", weight, input))
    return reduce_loss(losses, reduction)
