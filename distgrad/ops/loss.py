"""Losses with PyTorch's names and reductions: ``cross_entropy``, ``nll_loss``, ``mse_loss``.

``cross_entropy`` is one fused node (log-softmax and negative log-likelihood together): its
backward is ``softmax - onehot``, which is both cheaper and stabler than chaining two ops.
"""
import numpy

from ..autograd.function import ArrayFunction
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from .softmax import shifted_log_sum_exp

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(name, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name} got reduction={reduction!r}: expected 'mean', 'sum' or 'none'")


def _class_targets(name, input, target):
    """``target`` as an integer array on ``input``'s device, checked against (N, C) ``input``."""
    if len(input.shape) != 2:
        raise ValueError(f"{name} expects input of shape (N, C), got shape {tuple(input.shape)}")
    xp = get_array_module(input)
    target = xp.asarray(target.array if isinstance(target, Tensor) else target)
    n, c = input.shape
    if target.dtype.kind not in "iu":
        raise TypeError(f"{name} expects integer class indices as target, got dtype "
                        f"{target.dtype}; convert with target.astype('int64')")
    if target.shape != (n,):
        raise ValueError(f"{name} got input of shape {tuple(input.shape)} but target of shape "
                         f"{target.shape}: expected ({n},)")
    # On a GPU, reading the range back would stall every step until the device catches up:
    # there an out-of-range index makes its sample's loss NaN instead (see ``_poison``).
    if n and xp is numpy:
        lo, hi = int(target.min()), int(target.max())
        if lo < 0 or hi >= c:
            bad = lo if lo < 0 else hi
            raise ValueError(f"{name} got target {bad}, out of range for {c} classes "
                             f"(class indices must be in [0, {c - 1}])")
    return target


def _poison(losses, target, num_classes):
    """``losses`` with NaN where ``target`` is not a class index (device arrays only: host
    targets were checked by ``_class_targets``)."""
    xp = get_array_module(losses)
    if xp is numpy:
        return losses
    valid = (target >= 0) & (target < num_classes)
    return xp.where(valid, losses, xp.nan).astype(losses.dtype, copy=False)


def _reduce(losses, reduction):
    if reduction == "none":
        return losses
    xp = get_array_module(losses)
    return xp.asarray(losses.sum() if reduction == "sum" else losses.mean())


def _scale(gy, n, reduction):
    """The per-sample factor of the upstream gradient, shaped (N, 1)."""
    if reduction == "none":
        return gy[:, None]
    return gy / n if reduction == "mean" else gy


class CrossEntropy(ArrayFunction):
    def forward(self, logits, target, reduction):
        xp = get_array_module(logits)
        z, lse = shifted_log_sum_exp(logits, 1)
        rows = xp.arange(len(target))
        losses = _poison(lse[:, 0] - z[rows, target], target, logits.shape[1])
        # Keep the shifted logits and their log-normaliser: softmax = exp(z - lse) in backward.
        z -= lse
        self.save_for_backward(z, target)
        self.reduction = reduction
        return _reduce(losses, reduction)

    def backward(self, gy):
        log_p, target = self.saved_tensors
        xp = get_array_module(log_p)
        g = xp.exp(log_p)
        g[xp.arange(len(target)), target] -= 1
        g *= _scale(gy, len(target), self.reduction)
        return g


class NLLLoss(ArrayFunction):
    def forward(self, log_probs, target, reduction):
        xp = get_array_module(log_probs)
        self.shape, self.dtype = log_probs.shape, log_probs.dtype
        self.target, self.reduction = target, reduction
        losses = -log_probs[xp.arange(len(target)), target]
        return _reduce(_poison(losses, target, log_probs.shape[1]), reduction)

    def backward(self, gy):
        xp = get_array_module(gy)
        g = xp.zeros(self.shape, dtype=self.dtype)
        n = len(self.target)
        g[xp.arange(n), self.target] = -_scale(gy, n, self.reduction).reshape(-1)
        return g


class MSELoss(ArrayFunction):
    def forward(self, input, target, reduction):
        diff = input - target
        self.save_for_backward(diff)
        self.reduction = reduction
        return _reduce(diff * diff, reduction)

    def backward(self, gy):
        diff, = self.saved_tensors
        scale = 2 * gy / diff.size if self.reduction == "mean" else 2 * gy
        g = diff * scale
        return (g if self.needs_input_grad[0] else None,
                -g if self.needs_input_grad[1] else None)


def cross_entropy(input, target, reduction="mean"):
    """Cross-entropy between (N, C) logits and integer class targets (N,), as PyTorch's
    ``F.cross_entropy``: ``-log_softmax(input)[i, target[i]]``, reduced by ``reduction``
    ('mean', 'sum' or 'none'). Stable for logits of any magnitude.

    >>> logits = distgrad.tensor([[2.0, 0.0], [0.0, 2.0]], requires_grad=True)
    >>> cross_entropy(logits, distgrad.tensor([0, 1])).item()
    0.12692804634571075
    """
    _check_reduction("cross_entropy", reduction)
    target = _class_targets("cross_entropy", input, target)
    return CrossEntropy.apply(input, target=target, reduction=reduction)


def nll_loss(input, target, reduction="mean"):
    """Negative log-likelihood of (N, C) log-probabilities at integer class targets (N,)."""
    _check_reduction("nll_loss", reduction)
    target = _class_targets("nll_loss", input, target)
    return NLLLoss.apply(input, target=target, reduction=reduction)


def mse_loss(input, target, reduction="mean"):
    """Mean squared error ``(input - target) ** 2``, reduced by ``reduction``. Both may need
    gradients; their shapes must match (PyTorch only warns when they broadcast — a silent
    (N, 1) against (N,) mistake is an error here)."""
    _check_reduction("mse_loss", reduction)
    if tuple(input.shape) != tuple(getattr(target, "shape", ())):
        raise ValueError(f"mse_loss got input of shape {tuple(input.shape)} and target of shape "
                         f"{tuple(getattr(target, 'shape', ()))}: they must match")
    return MSELoss.apply(input, target, reduction=reduction)
