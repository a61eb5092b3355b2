"""Adamax: Adam with the second moment replaced by an exponentially weighted infinity norm
(PyTorch's update rule term for term)."""
from .optimizer import Optimizer, _check_options


class Adamax(Optimizer):
    """Adamax (PyTorch's ``torch.optim.Adamax``).

    Per parameter, at step ``t``: ``g = grad + weight_decay * p``; ``m = lerp(m, g, 1 - beta1)``;
    ``u = max(beta2 * u, |g| + eps)``; ``p -= lr / (1 - beta1**t) * m / u``.

    Args:
        params: Tensors or param-group dicts.
        lr: learning rate.
        betas: decay rates of the first moment and of the infinity norm.
        eps: added to ``|g|`` for numerical stability.
        weight_decay: L2 penalty added to the gradient.
        maximize: ascend instead of descend.

    ``state[p]`` holds ``step`` and the arrays ``exp_avg`` (``m``) and ``exp_inf`` (``u``).

    >>> opt = Adamax(model.parameters(), lr=2e-3)
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, *,
                 maximize=False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group):
        _check_options(lr=group["lr"], eps=group["eps"], betas=group["betas"],
                       weight_decay=group["weight_decay"])

    def _state_kinds(self, group):
        return ("exp_avg", "exp_inf")

    def _update(self, group, flat):
        xp = flat.xp
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        g = self._gradient(group, flat)
        tmp = flat.scratch(1)
        exp_avg, exp_inf = flat.buffers["exp_avg"], flat.buffers["exp_inf"]
        xp.add(exp_avg, xp.multiply(xp.subtract(g, exp_avg, out=tmp), 1 - beta1, out=tmp),
               out=exp_avg)
        xp.add(xp.abs(g, out=tmp), eps, out=tmp)
        xp.maximum(xp.multiply(exp_inf, beta2, out=exp_inf), tmp, out=exp_inf)
        xp.divide(exp_avg, exp_inf, out=tmp)
        for step, part in flat.runs(self._next_steps(flat)):
            xp.multiply(tmp[part], -lr / (1 - beta1 ** step), out=tmp[part])
        flat.add_to_params(tmp)
