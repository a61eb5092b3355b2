"""Cross-entropy and negative log-likelihood with every PyTorch option: class ``weight``,
``ignore_index``, ``label_smoothing``, probability targets, (N, C, d1, ...) and unbatched input.

PyTorch's rules, which these follow exactly:
- with class-index targets, 'mean' divides by the total weight of the targets that count
  (their number when there is no ``weight``; NaN when none counts);
- label smoothing mixes in ``-sum_c weight_c log p_c / C`` per counted target, under the same
  denominator;
- with probability targets, 'mean' divides by the number of samples, whatever the weights.
"""
import numpy

from ..autograd.function import ArrayFunction
from ..autograd.tensor import Tensor
from ..backend import get_array_module, to_device, device_of
from .arithmetic import add, mul, neg
from .reduction import sum
from .shape import permute, reshape
from .softmax import log_softmax


class WeightedNLL(ArrayFunction):
    def forward(self, log_probs, target, weight, ignore_index, reduction):
        xp = get_array_module(log_probs)
        counted = target != ignore_index
        safe = xp.where(counted, target, 0)
        w = counted.astype(log_probs.dtype)
        if weight is not None:
            w *= weight[safe]
        rows = xp.arange(len(safe))
        losses = -w * log_probs[rows, safe]
        self.shape, self.safe, self.w, self.reduction = log_probs.shape, safe, w, reduction
        self.counted = counted
        if reduction == "none":
            return losses
        if reduction == "sum":
            return xp.asarray(losses.sum())
        self.total = xp.asarray(w.sum())
        with numpy.errstate(invalid="ignore", divide="ignore"):  # nothing counted: NaN, as PyTorch
            return xp.asarray(losses.sum() / self.total)

    def backward(self, gy):
        xp = get_array_module(gy)
        g = xp.zeros(self.shape, dtype=gy.dtype)
        with numpy.errstate(invalid="ignore", divide="ignore"):
            scale = gy / self.total if self.reduction == "mean" else gy
            # Ignored targets get exactly 0, also when nothing counts and the mean's 1 / total
            # is inf (PyTorch: zeros there, NaN only for counted targets of zero weight).
            g[xp.arange(len(self.safe)), self.safe] = xp.where(self.counted, -self.w * scale, 0)
        return g


def _array(t, like):
    xp = get_array_module(like)
    a = t.array if isinstance(t, Tensor) else t
    return to_device(xp.asarray(a), device_of(like))


def _class_rows(input):
    """``input`` as (M, C) rows, one per target, and the shape of the per-target losses."""
    shape = tuple(input.shape)
    if len(shape) == 1:
        return reshape(input, (1, shape[0])), ()
    if len(shape) == 2:
        return input, (shape[0],)
    moved = permute(input, (0,) + tuple(range(2, len(shape))) + (1,))
    return reshape(moved, (-1, shape[1])), (shape[0],) + shape[2:]


def _check_input(name, input):
    if len(input.shape) < 1:
        raise ValueError(f"{name} expects input of shape (N, C), (N, C, d1, ...) or (C,), got a "
                         f"0-dimensional tensor")


class TargetIndexError(IndexError, ValueError):
    """A class index outside ``[0, C)``: PyTorch raises IndexError; a ValueError too."""


class TargetDtypeError(RuntimeError, TypeError):
    """Class-index targets of a float dtype: PyTorch raises RuntimeError; a TypeError too."""


def _class_targets(name, input, target, ignore_index, loss_shape):
    target = _array(target, input.array)
    if target.dtype.kind not in "iu":
        raise TargetDtypeError(f"{name} expects integer class indices as target, got dtype "
                        f"{target.dtype}; convert with target.long()")
    if target.shape != loss_shape:
        raise ValueError(f"{name} got input of shape {tuple(input.shape)} but target of shape "
                         f"{target.shape}: expected {loss_shape}")
    target = target.reshape(-1)
    c = input.shape[1] if len(input.shape) > 1 else input.shape[0]
    # On a GPU the range is not read back (it would stall the step): bad indices fail there.
    if target.size and get_array_module(target) is numpy:
        bad = target[(target != ignore_index) & ((target < 0) | (target >= c))]
        if bad.size:
            raise TargetIndexError(f"{name} got target {int(bad[0])}, out of range for {c} classes "
                             f"(class indices must be in [0, {c - 1}], or ignore_index="
                             f"{ignore_index})")
    return target


def _class_weight(name, weight, input):
    if weight is None:
        return None
    c = input.shape[1] if len(input.shape) > 1 else input.shape[0]
    w = _array(weight, input.array)
    if w.shape != (c,):
        raise ValueError(f"{name} got weight of shape {w.shape} for {c} classes: expected "
                         f"({c},)")
    return w.astype(input.dtype, copy=False)


def _nll(log_probs, target, weight, ignore_index, reduction, name):
    """The weighted NLL of ``log_probs`` in any accepted layout, with its shapes checked."""
    rows, loss_shape = _class_rows(log_probs)
    flat = _class_targets(name, log_probs, target, ignore_index, loss_shape)
    loss = WeightedNLL.apply(rows, target=flat, weight=weight, ignore_index=ignore_index,
                             reduction=reduction)
    return reshape(loss, loss_shape) if reduction == "none" else loss


def general_nll_loss(input, target, weight, ignore_index, reduction):
    """``nll_loss`` with every option (``loss.nll_loss`` calls it when the fused node won't do)."""
    _check_input("nll_loss", input)
    weight = _class_weight("nll_loss", weight, input)
    return _nll(input, target, weight, ignore_index, reduction, "nll_loss")


def _smoothing_term(rows, flat, weight, ignore_index, reduction, loss_shape):
    """``-sum_c weight_c log p_c`` per counted target, reduced with the NLL's denominator."""
    xp = get_array_module(rows.array)
    weighted = rows if weight is None else mul(rows, Tensor._from_op(weight, None))
    counted = flat != ignore_index
    factor, empty = counted.astype(rows.dtype), None
    if reduction == "mean":
        # The denominator goes into the per-target factor, so that ignored targets keep a zero
        # gradient even when nothing counts; the mean is then NaN, as PyTorch's.
        safe = xp.where(counted, flat, 0)
        denominator = counted.sum() if weight is None else (weight[safe] * counted).sum()
        with numpy.errstate(invalid="ignore", divide="ignore"):
            factor = xp.where(counted, 1 / denominator, 0).astype(rows.dtype)
        empty = xp.where(denominator > 0, 0, xp.nan).astype(rows.dtype)
    per_target = mul(neg(sum(weighted, axis=1)), Tensor._from_op(factor, None))
    if reduction == "none":
        return reshape(per_target, loss_shape)
    total = sum(per_target)
    return total if empty is None else add(total, Tensor._from_op(empty, None))


def _probability_targets(log_probs, target, weight, reduction, smoothing):
    if tuple(target.shape) != tuple(log_probs.shape):
        raise ValueError(f"cross_entropy got input of shape {tuple(log_probs.shape)} and a "
                         f"floating-point target of shape {tuple(target.shape)}: class-"
                         f"probability targets need the input's shape, and class indices must "
                         f"be integers (convert them with target.long())")
    class_dim = 1 if len(log_probs.shape) > 1 else 0
    c = log_probs.shape[class_dim]
    if not isinstance(target, Tensor):
        target = Tensor._from_op(_array(target, log_probs.array), None)
    if smoothing:
        target = add(mul(target, 1 - smoothing), smoothing / c)
    terms = mul(log_probs, target)
    if weight is not None:
        shape = (c,) + (1,) * (len(log_probs.shape) - class_dim - 1)
        terms = mul(terms, Tensor._from_op(weight.reshape(shape), None))
    losses = neg(sum(terms, axis=class_dim))
    if reduction == "none":
        return losses
    total = sum(losses)
    if reduction == "sum":
        return total
    return mul(total, 1 / (log_probs.array.size // c))  # 'mean': per sample, not per weight


def general_cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing):
    """``cross_entropy`` with every option (``loss.cross_entropy`` calls it when the fused node
    won't do)."""
    _check_input("cross_entropy", input)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy got label_smoothing={label_smoothing}: it must be "
                         f"between 0.0 and 1.0")
    weight = _class_weight("cross_entropy", weight, input)
    class_dim = 1 if len(input.shape) > 1 else 0
    log_probs = log_softmax(input, class_dim)
    target_dtype = target.dtype if hasattr(target, "dtype") else numpy.asarray(target).dtype
    if numpy.dtype(target_dtype).kind == "f":
        return _probability_targets(log_probs, target, weight, reduction, label_smoothing)
    nll = _nll(log_probs, target, weight, ignore_index, reduction, "cross_entropy")
    if not label_smoothing:
        return nll
    rows, loss_shape = _class_rows(log_probs)
    flat = _class_targets("cross_entropy", log_probs, target, ignore_index, loss_shape)
    smooth = _smoothing_term(rows, flat, weight, ignore_index, reduction, loss_shape)
    c = input.shape[class_dim]
    return add(mul(nll, 1 - label_smoothing), mul(smooth, label_smoothing / c))
