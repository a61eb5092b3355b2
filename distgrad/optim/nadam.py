"""NAdam: Adam with Nesterov momentum and a momentum schedule (PyTorch's update rule term for
term, including its running product of momentum factors)."""
from .optimizer import Optimizer, _check_options


class NAdam(Optimizer):
    """NAdam (PyTorch's ``torch.optim.NAdam``).

    Per parameter, at step ``t``: ``g = grad + weight_decay * p`` (or, decoupled, ``p *= 1 - lr *
    weight_decay``); ``mu_t = beta1 * (1 - 0.96**(t * momentum_decay) / 2)``; ``prod *= mu_t``;
    ``m = lerp(m, g, 1 - beta1)``; ``v = beta2 * v + (1 - beta2) * g * g``;
    ``d = sqrt(v / (1 - beta2**t)) + eps``; ``p -= lr * (1 - mu_t) / (1 - prod) * g / d +
    lr * mu_{t+1} / (1 - prod * mu_{t+1}) * m / d``.

    Args:
        params: Tensors or param-group dicts.
        lr: learning rate.
        betas: decay rates of the first and second moment averages.
        eps: added to the denominator for numerical stability.
        weight_decay: weight decay factor.
        momentum_decay: how fast the momentum factor ``mu_t`` approaches ``beta1``.
        decoupled_weight_decay: shrink the parameters (as AdamW) instead of adding an L2
            penalty to the gradient.
        maximize: ascend instead of descend.

    ``state[p]`` holds ``step``, ``mu_product`` (the running product, a float) and the arrays
    ``exp_avg``, ``exp_avg_sq``.

    >>> opt = NAdam(model.parameters(), lr=2e-3)
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, maximize=False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group):
        _check_options(lr=group["lr"], eps=group["eps"], betas=group["betas"],
                       weight_decay=group["weight_decay"],
                       momentum_decay=group["momentum_decay"])

    def _state_kinds(self, group):
        return ("exp_avg", "exp_avg_sq")

    def _update(self, group, flat):
        xp = flat.xp
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        decay = float(group["momentum_decay"])
        g = self._gradient(group, flat, decoupled=group["decoupled_weight_decay"])
        tmp, denom, out = flat.scratch(1), flat.scratch(2), flat.scratch(3)
        exp_avg, exp_avg_sq = flat.buffers["exp_avg"], flat.buffers["exp_avg_sq"]
        xp.add(exp_avg, xp.multiply(xp.subtract(g, exp_avg, out=tmp), 1 - beta1, out=tmp),
               out=exp_avg)
        xp.multiply(xp.multiply(g, 1 - beta2, out=tmp), g, out=tmp)
        xp.add(xp.multiply(exp_avg_sq, beta2, out=exp_avg_sq), tmp, out=exp_avg_sq)
        keys = []
        for p, step in zip(flat.params, self._next_steps(flat)):
            entry = self.state[p]
            entry["mu_product"] = entry.get("mu_product", 1.0) * self._mu(beta1, decay, step)
            keys.append((step, entry["mu_product"]))
        for (step, product), part in flat.runs(keys):
            mu, mu_next = self._mu(beta1, decay, step), self._mu(beta1, decay, step + 1)
            d, o, t = denom[part], out[part], tmp[part]
            xp.add(xp.sqrt(xp.divide(exp_avg_sq[part], 1 - beta2 ** step, out=d), out=d), eps,
                   out=d)
            xp.multiply(xp.divide(g[part], d, out=o), -lr * (1 - mu) / (1 - product), out=o)
            xp.multiply(xp.divide(exp_avg[part], d, out=t),
                        -lr * mu_next / (1 - product * mu_next), out=t)
            xp.add(o, t, out=o)
        flat.add_to_params(out)

    @staticmethod
    def _mu(beta1, momentum_decay, step):
        """The momentum factor at ``step``."""
        return beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
