"""Gradient clipping, as ``torch.nn.utils``: by global norm (``clip_grad_norm_``, or its two
halves ``get_total_norm`` and ``clip_grads_with_norm_``) and by value (``clip_grad_value_``)."""
import math

from ...autograd.tensor import Tensor
from ...backend import get_array_module


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad.array for p in parameters if p.grad is not None]


def _total_norm(arrays, norm_type, error_if_nonfinite):
    """The norm of all ``arrays`` together, as a Python float."""
    xp = get_array_module(arrays[0])
    norm_type = float(norm_type)
    if norm_type == math.inf:
        total = max(float(xp.abs(g).max()) for g in arrays)
    else:
        # Each array's norm first (one pass each), then the norm of norms, as PyTorch does.
        norms = xp.stack([xp.linalg.norm(g.reshape(-1), ord=norm_type) for g in arrays])
        total = float(xp.linalg.norm(norms, ord=norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"the total norm of order {norm_type} of the gradients is {total}; "
                           "set error_if_nonfinite=False to clip anyway")
    return total


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The ``norm_type``-norm of all ``tensors`` (e.g. gradients) as if concatenated, a
    0-dimensional Tensor."""
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    arrays = [t.array for t in tensors if t is not None]
    if not arrays:
        return Tensor(0.0)
    total = _total_norm(arrays, norm_type, error_if_nonfinite)
    return Tensor(get_array_module(arrays[0]).asarray(total, dtype=arrays[0].dtype))


def _scale_(grads, max_norm, total):
    # PyTorch's rule: the scale is max_norm / (total + 1e-6), applied only when below 1.
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for g in grads:
            g *= g.dtype.type(coef)


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale the gradients in place by ``max_norm / (total_norm + 1e-6)`` when that is below
    1 (the second half of ``clip_grad_norm_``)."""
    grads = _grads(parameters)
    if grads:
        _scale_(grads, max_norm, float(total_norm))


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale gradients in place so their global norm is at most ``max_norm``.

    Returns the total norm before clipping, a 0-dimensional Tensor as in PyTorch. ``foreach``
    is accepted for PyTorch's signature; the norms are vectorised either way.

    >>> clip_grad_norm_(model.parameters(), max_norm=1.0)
    """
    grads = _grads(parameters)
    if not grads:
        return Tensor(0.0)
    total = _total_norm(grads, norm_type, error_if_nonfinite)
    _scale_(grads, max_norm, total)
    return Tensor(get_array_module(grads[0]).asarray(total, dtype=grads[0].dtype))


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element to ``[-clip_value, clip_value]`` in place."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        get_array_module(g).clip(g, -clip_value, clip_value, out=g)
