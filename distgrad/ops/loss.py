"""Losses with PyTorch's names and reductions: ``cross_entropy``, ``nll_loss``, ``mse_loss``.

The training step's case — (N, C) logits, class indices, no weight, no smoothing — is one fused
node (log-softmax and negative log-likelihood together): its backward is ``softmax - onehot``,
which is both cheaper and stabler than chaining two ops. Every other option (``weight``,
``label_smoothing``, probability targets, more dimensions, and on the host targets equal to
``ignore_index``) goes to ``loss_classification``, so the common call pays nothing for them;
device targets are never read back, so the fused node masks ``ignore_index`` there itself.
"""
import numpy

from ..autograd.function import ArrayFunction
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from .arithmetic import mul, sub
from .loss_classification import general_cross_entropy, general_nll_loss
from .loss_reduction import reduce_loss, resolve_reduction
from .loss_regression import warn_on_broadcast, weighted_reduce
from .softmax import shifted_log_sum_exp


def _unchecked_targets(target, num_classes, ignore_index):
    """For targets nobody read back (a device's): (index to gather with, rows kept, rows whose
    target is a class), masks made on the device. An ``ignore_index`` row adds nothing and
    leaves the mean's count; another out-of-range target makes its loss NaN (on the host such
    targets never reach the fused nodes: see ``_plain_targets``)."""
    xp = get_array_module(target)
    valid = (target >= 0) & (target < num_classes)
    return xp.where(valid, target, 0), target != ignore_index, valid


def _masked(losses, kept, valid):
    xp = get_array_module(losses)
    return xp.where(kept, xp.where(valid, losses, xp.nan), 0).astype(losses.dtype, copy=False)


def _reduce(losses, reduction, count=None):
    """Sum or mean (over ``count`` rows, a device scalar, when given; none: NaN, as PyTorch)
    or the losses as they are."""
    if reduction == "none":
        return losses
    xp = get_array_module(losses)
    if reduction == "sum":
        return xp.asarray(losses.sum())
    if count is None:
        return xp.asarray(losses.mean())
    with numpy.errstate(invalid="ignore"):
        return xp.asarray(losses.sum() / count.astype(losses.dtype))


def _scale(gy, n, reduction):
    """The per-sample factor of the upstream gradient, shaped (N, 1)."""
    if reduction == "none":
        return gy[:, None]
    return gy / n if reduction == "mean" else gy


class _ClassIndexLoss(ArrayFunction):
    """What the fused class-index losses share: targets checked on the host, or masked where
    they lie (``ignore_index`` given: device targets, which are never read back)."""

    def _targets(self, target, num_classes, reduction, ignore_index):
        self.reduction = reduction
        self.kept = self.valid = None
        self.count = len(target)
        if ignore_index is None:
            return target
        index, self.kept, self.valid = _unchecked_targets(target, num_classes, ignore_index)
        self.count = self.kept.sum()
        return index

    def _losses(self, losses):
        if self.kept is not None:
            losses = _masked(losses, self.kept, self.valid)
        return _reduce(losses, self.reduction, None if self.kept is None else self.count)

    def _row_scale(self, gy):
        if self.kept is None:
            return _scale(gy, self.count, self.reduction)
        # Ignored rows get exactly 0, also when nothing counts and 1 / count is inf (PyTorch's
        # gradient there is zeros under its NaN loss).
        with numpy.errstate(divide="ignore", invalid="ignore"):
            scale = _scale(gy, self.count.astype(gy.dtype), self.reduction)
        return get_array_module(gy).where(self.kept[:, None], scale, 0).astype(gy.dtype,
                                                                            copy=False)


class CrossEntropy(_ClassIndexLoss):
    def forward(self, logits, target, reduction, ignore_index=None):
        xp = get_array_module(logits)
        target = self._targets(target, logits.shape[1], reduction, ignore_index)
        z, lse = shifted_log_sum_exp(logits, 1)
        losses = lse[:, 0] - z[xp.arange(len(target)), target]
        # Keep the shifted logits and their log-normaliser: softmax = exp(z - lse) in backward.
        z -= lse
        self.save_for_backward(z, target)
        return self._losses(losses)

    def backward(self, gy):
        log_p, target = self.saved_tensors
        xp = get_array_module(log_p)
        g = xp.exp(log_p)
        g[xp.arange(len(target)), target] -= 1
        g *= self._row_scale(gy)
        return g


class NLLLoss(_ClassIndexLoss):
    def forward(self, log_probs, target, reduction, ignore_index=None):
        xp = get_array_module(log_probs)
        self.shape, self.dtype = log_probs.shape, log_probs.dtype
        self.target = self._targets(target, log_probs.shape[1], reduction, ignore_index)
        return self._losses(-log_probs[xp.arange(len(self.target)), self.target])

    def backward(self, gy):
        xp = get_array_module(gy)
        g = xp.zeros(self.shape, dtype=self.dtype)
        n = len(self.target)
        g[xp.arange(n), self.target] = -self._row_scale(gy).reshape(-1)
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


def _plain_targets(input, target, ignore_index):
    """The integer target array when the fused node serves this call: (N, C) input, (N,)
    integer targets, on the host all of them class indices. On a GPU, where reading the range
    back would stall every step, targets are not inspected: the node masks them on the device
    (``ignore_index`` rows add nothing, other out-of-range targets give NaN). None sends the
    call to the general path, which handles ignored host targets, other shapes and the
    errors."""
    if len(input.shape) != 2:
        return None
    xp = get_array_module(input.array)
    target = xp.asarray(target.array if isinstance(target, Tensor) else target)
    n, c = input.shape
    if target.dtype.kind not in "iu" or target.shape != (n,) or 0 <= ignore_index < c:
        return None  # an ignore_index that names a class needs the general path's mask
    if n and xp is numpy and (int(target.min()) < 0 or int(target.max()) >= c):
        return None
    return target


def _on_device(target, ignore_index):
    """``ignore_index`` for targets the fused node must mask itself (a device's), else None."""
    return None if get_array_module(target) is numpy else ignore_index


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Cross-entropy between logits and targets, as PyTorch's ``F.cross_entropy``:
    ``-log_softmax(input)[i, target[i]]`` reduced by ``reduction`` ('mean', 'sum' or 'none').
    Stable for logits of any magnitude.

    Args:
        input: logits (N, C), (N, C, d1, ...) or unbatched (C,).
        target: class indices (N,) / (N, d1, ...) / (), or class probabilities of ``input``'s
            shape.
        weight: per-class weights (C,); 'mean' then divides by the targets' total weight.
        ignore_index: class-index targets with this value add nothing, to the mean's count
            neither.
        label_smoothing: mix each target with the uniform distribution by this amount.
        size_average, reduce: PyTorch's deprecated flags; they choose ``reduction`` (warning).

    >>> logits = distgrad.tensor([[2.0, 0.0], [0.0, 2.0]], requires_grad=True)
    >>> cross_entropy(logits, distgrad.tensor([0, 1])).item()
    0.12692804634571075
    """
    reduction = resolve_reduction("cross_entropy", size_average, reduce, reduction)
    if weight is None and not label_smoothing:
        plain = _plain_targets(input, target, ignore_index)
        if plain is not None:  # the training step's case: one fused node
            return CrossEntropy.apply(input, target=plain, reduction=reduction,
                                      ignore_index=_on_device(plain, ignore_index))
    return general_cross_entropy(input, target, weight, ignore_index, reduction,
                                 float(label_smoothing))


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood of log-probabilities (N, C), (N, C, d1, ...) or (C,) at integer
    class targets; ``weight`` and ``ignore_index`` as in ``cross_entropy``."""
    reduction = resolve_reduction("nll_loss", size_average, reduce, reduction)
    if weight is None:
        plain = _plain_targets(input, target, ignore_index)
        if plain is not None:
            return NLLLoss.apply(input, target=plain, reduction=reduction,
                                 ignore_index=_on_device(plain, ignore_index))
    return general_nll_loss(input, target, weight, ignore_index, reduction)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error ``(input - target) ** 2``, reduced by ``reduction``. Both may need
    gradients. Shapes that differ are broadcast with PyTorch's warning (an (N, 1) input
    against an (N,) target gives an N x N loss: usually a mistake, hence the warning), as
    the other regression losses do. With an elementwise ``weight``, 'mean' is
    ``sum(weight * error) / sum(weight)``, as in PyTorch."""
    reduction = resolve_reduction("mse_loss", size_average, reduce, reduction)
    same_shape = tuple(input.shape) == tuple(getattr(target, "shape", ()))
    if weight is None and same_shape:
        return MSELoss.apply(input, target, reduction=reduction)
    if not same_shape:
        warn_on_broadcast(input, target)
    diff = sub(input, target)
    if weight is not None:
        return weighted_reduce("mse_loss", mul(diff, diff), weight, reduction)
    return reduce_loss(mul(diff, diff), reduction)
