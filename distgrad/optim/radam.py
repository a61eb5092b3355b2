"""RAdam: Adam whose adaptive step is rectified by the variance of the second-moment estimate,
plain momentum SGD while that variance is intractable (PyTorch's update rule term for term)."""
import math

from .optimizer import Optimizer, _check_options


class RAdam(Optimizer):
    """RAdam (PyTorch's ``torch.optim.RAdam``).

    Per parameter, at step ``t``: ``g = grad + weight_decay * p`` (or, decoupled, ``p *= 1 - lr *
    weight_decay``); ``m = lerp(m, g, 1 - beta1)``; ``v = beta2 * v + (1 - beta2) * g * g``;
    ``rho_inf = 2 / (1 - beta2) - 1``, ``rho_t = rho_inf - 2 t beta2**t / (1 - beta2**t)``;
    ``m_hat = m / (1 - beta1**t)``; when ``rho_t > 5``, ``p -= lr * m_hat * r_t *
    sqrt(1 - beta2**t) / (sqrt(v) + eps)`` with the rectification ``r_t = sqrt((rho_t - 4)
    (rho_t - 2) rho_inf / ((rho_inf - 4) (rho_inf - 2) rho_t))``, else ``p -= lr * m_hat``.

    Args:
        params: Tensors or param-group dicts.
        lr: learning rate.
        betas: decay rates of the first and second moment averages.
        eps: added to the denominator for numerical stability.
        weight_decay: weight decay factor.
        decoupled_weight_decay: shrink the parameters (as AdamW) instead of adding an L2
            penalty to the gradient.
        maximize: ascend instead of descend.

    ``state[p]`` holds ``step`` and the arrays ``exp_avg``, ``exp_avg_sq``.

    >>> opt = RAdam(model.parameters(), lr=1e-3)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, maximize=False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group):
        _check_options(lr=group["lr"], eps=group["eps"], betas=group["betas"],
                       weight_decay=group["weight_decay"])

    def _state_kinds(self, group):
        return ("exp_avg", "exp_avg_sq")

    def _update(self, group, flat):
        xp = flat.xp
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        g = self._gradient(group, flat, decoupled=group["decoupled_weight_decay"])
        tmp, out = flat.scratch(1), flat.scratch(2)
        exp_avg, exp_avg_sq = flat.buffers["exp_avg"], flat.buffers["exp_avg_sq"]
        xp.add(exp_avg, xp.multiply(xp.subtract(g, exp_avg, out=tmp), 1 - beta1, out=tmp),
               out=exp_avg)
        xp.multiply(xp.multiply(g, 1 - beta2, out=tmp), g, out=tmp)
        xp.add(xp.multiply(exp_avg_sq, beta2, out=exp_avg_sq), tmp, out=exp_avg_sq)
        rho_inf = 2 / (1 - beta2) - 1
        for step, part in flat.runs(self._next_steps(flat)):
            correction1, correction2 = 1 - beta1 ** step, 1 - beta2 ** step
            rho_t = rho_inf - 2 * step * beta2 ** step / correction2
            o = xp.multiply(exp_avg[part], -lr / correction1, out=out[part])
            if rho_t > 5.0:
                rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf /
                                 ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                t = xp.add(xp.sqrt(exp_avg_sq[part], out=tmp[part]), eps, out=tmp[part])
                xp.multiply(xp.divide(o, t, out=o), math.sqrt(correction2) * rect, out=o)
        flat.add_to_params(out)
