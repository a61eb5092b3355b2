"""Gradient clipping by global norm, as ``torch.nn.utils.clip_grad_norm_``."""
import math

from ...autograd.tensor import Tensor
from ...backend import get_array_module


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale gradients in place so their global norm is at most ``max_norm``.

    Returns the total norm before clipping, a one-element Tensor as in PyTorch. Like PyTorch,
    the scale is ``max_norm / (total_norm + 1e-6)`` and applied only when it is below 1.
    ``foreach`` is accepted for PyTorch's signature; the norms are vectorised either way.
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = [p.grad.array for p in parameters if p.grad is not None]
    if not grads:
        return Tensor(0.0)
    xp = get_array_module(grads[0])
    norm_type = float(norm_type)
    if norm_type == math.inf:
        total = max(float(xp.abs(g).max()) for g in grads)
    else:
        # Each gradient's norm first (one pass each), then the norm of norms, as PyTorch does.
        norms = xp.stack([xp.linalg.norm(g.reshape(-1), ord=norm_type) for g in grads])
        total = float(xp.linalg.norm(norms, ord=norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"the total norm of order {norm_type} of the gradients is {total}; "
                           "set error_if_nonfinite=False to clip anyway")
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for g in grads:
            g *= g.dtype.type(coef)
    return Tensor(xp.asarray(total, dtype=grads[0].dtype))
