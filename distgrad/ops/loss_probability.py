"""Losses on probabilities: ``binary_cross_entropy`` (and ``_with_logits``) and ``kl_div``.

``binary_cross_entropy`` is one node with PyTorch's guards: each log is clamped at -100 and the
gradient's denominator ``x (1 - x)`` at 1e-12, so probabilities of exactly 0 or 1 give finite
values. The logits form is composed from ``logsigmoid``, which is stable for any logit.
"""
import warnings

import numpy

from ..autograd.function import ArrayFunction
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from .activation import logsigmoid
from .arithmetic import add, mul, sub
from .loss_reduction import reduce_loss, resolve_reduction
from .reduction import sum


class BinaryCrossEntropy(ArrayFunction):
    def forward(self, x, t, weight):
        xp = get_array_module(x)
        with numpy.errstate(divide="ignore"):
            log_x = xp.maximum(xp.log(x), -100)
            log_1mx = xp.maximum(xp.log1p(-x), -100)
        self.save_for_backward(x, t, log_x, log_1mx)
        self.weight = weight
        loss = -(t * log_x + (1 - t) * log_1mx)
        return loss * weight if weight is not None else loss

    def backward(self, gy):
        x, t, log_x, log_1mx = self.saved_tensors
        xp = get_array_module(x)
        g = gy if self.weight is None else gy * self.weight
        gx = gt = None
        if self.needs_input_grad[0]:
            gx = g * (x - t) / xp.maximum(x * (1 - x), x.dtype.type(1e-12))
        if self.needs_input_grad[1]:
            gt = g * (log_1mx - log_x)
        return gx, gt


class KLDiv(ArrayFunction):
    def forward(self, input, target, log_target):
        xp = get_array_module(input)
        self.save_for_backward(input, target)
        self.log_target = log_target
        if log_target:
            return xp.exp(target) * (target - input)
        # target * log(target) is 0 where target is 0 (the limit), as PyTorch's xlogy.
        with numpy.errstate(divide="ignore", invalid="ignore"):
            return xp.where(target == 0, 0, target * (xp.log(target) - input))

    def backward(self, gy):
        input, target = self.saved_tensors
        xp = get_array_module(input)
        gx = gt = None
        if self.log_target:
            p = xp.exp(target)
            gx = -gy * p if self.needs_input_grad[0] else None
            gt = gy * p * (target - input + 1) if self.needs_input_grad[1] else None
            return gx, gt
        if self.needs_input_grad[0]:
            gx = -gy * target
        if self.needs_input_grad[1]:
            with numpy.errstate(divide="ignore", invalid="ignore"):
                gt = gy * (xp.log(target) + 1 - input)
        return gx, gt


def _same_shape(name, input, target):
    if tuple(getattr(target, "shape", ())) != tuple(input.shape):
        raise ValueError(f"{name} got target of shape {tuple(getattr(target, 'shape', ()))} and "
                         f"input of shape {tuple(input.shape)}: they must have the same size")


def _array(t):
    return t.array if isinstance(t, Tensor) else t


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """``-w (t log x + (1 - t) log(1 - x))`` for probabilities ``x`` in [0, 1]; ``weight``
    broadcasts against the input."""
    reduction = resolve_reduction("binary_cross_entropy", size_average, reduce, reduction)
    _same_shape("binary_cross_entropy", input, target)
    x = input.array
    if x.size and get_array_module(x) is numpy and (x.min() < 0 or x.max() > 1):
        raise ValueError(f"binary_cross_entropy needs probabilities: all elements of input should"
                         f" be between 0 and 1, got values in [{x.min()}, {x.max()}] (use "
                         f"binary_cross_entropy_with_logits for logits)")
    w = None
    if weight is not None:
        xp = get_array_module(x)
        w = xp.broadcast_to(xp.asarray(_array(weight), dtype=x.dtype), x.shape)
    return reduce_loss(BinaryCrossEntropy.apply(input, target, weight=w), reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """Binary cross-entropy of ``sigmoid(input)``, computed stably from the logits:
    ``(1 - t) x - (1 + (pos_weight - 1) t) log sigmoid(x)``, times ``weight``.

    Args:
        weight: broadcasts against the input (a rescaling per element or per batch entry).
        pos_weight: weight of the positive term, broadcast along the last (class) dimension.
    """
    reduction = resolve_reduction("binary_cross_entropy_with_logits", size_average, reduce,
                                  reduction)
    if tuple(getattr(target, "shape", ())) != tuple(input.shape):
        raise ValueError(f"Target size ({tuple(getattr(target, 'shape', ()))}) must be the same "
                         f"as input size ({tuple(input.shape)})")
    log_sig = logsigmoid(input)
    positive = log_sig
    if pos_weight is not None:
        # (1 + (pw - 1) t) log sigmoid(x) = log sigmoid(x) + (pw - 1) t log sigmoid(x)
        positive = add(log_sig, mul(mul(sub(pos_weight, 1), target), log_sig))
    loss = sub(mul(sub(1, target), input), positive)
    if weight is not None:
        loss = mul(loss, weight)
    return reduce_loss(loss, reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Kullback-Leibler divergence ``target (log target - input)`` with ``input`` given as
    log-probabilities (``target`` too when ``log_target``).

    ``reduction='batchmean'`` divides the sum by the batch size — the mathematical KL
    divergence; 'mean' divides by the number of elements and warns, as in PyTorch.
    """
    if size_average is not None or reduce is not None:
        reduction = resolve_reduction("kl_div", size_average, reduce, reduction)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", stacklevel=2)
    elif reduction not in ("batchmean", "sum", "none"):
        raise ValueError(f"kl_div got reduction={reduction!r}: expected 'batchmean', 'sum', "
                         f"'mean' or 'none'")
    losses = KLDiv.apply(input, target, log_target=bool(log_target))
    if reduction == "batchmean":
        total = sum(losses)
        return mul(total, 1 / input.shape[0]) if len(input.shape) else total
    return reduce_loss(losses, reduction)
