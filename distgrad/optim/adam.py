"""Adam (and, with decoupled weight decay, AdamW): PyTorch's update rule, bias correction
computed the way PyTorch computes it, as a few vectorised passes over flat state arrays."""
import numpy

from .. import fused
from .optimizer import Optimizer, _check_options


class Adam(Optimizer):
    """Adam (PyTorch's ``torch.optim.Adam``).

    Per parameter, at step ``t``: ``g = grad + weight_decay * p``; ``m = lerp(m, g, 1 - beta1)``;
    ``v = beta2 * v + (1 - beta2) * g * g`` (``v_max = max(v_max, v)`` with amsgrad);
    ``p -= lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)``.

    Args:
        params: Tensors or param-group dicts.
        lr: learning rate.
        betas: decay rates of the first and second moment averages.
        eps: added to the denominator for numerical stability.
        weight_decay: L2 penalty added to the gradient.
        amsgrad: normalise by the running maximum of the second moment.
        maximize: ascend instead of descend.

    ``state[p]`` holds ``step`` and the arrays ``exp_avg``, ``exp_avg_sq`` (and
    ``max_exp_avg_sq``), each a view into one flat array shared by the group.

    >>> opt = Adam(model.parameters(), lr=1e-3)
    >>> loss.backward(); opt.step(); opt.zero_grad()
    """

    _decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, maximize=False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group):
        _check_options(lr=group["lr"], eps=group["eps"], betas=group["betas"],
                      weight_decay=group["weight_decay"])

    def _state_kinds(self, group):
        kinds = ("exp_avg", "exp_avg_sq")
        return kinds + ("max_exp_avg_sq",) if group["amsgrad"] else kinds

    def _update(self, group, flat):
        xp = flat.xp
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        g = self._gradient(group, flat, decoupled=self._decoupled)
        tmp, denom = flat.scratch(1), flat.scratch(2)
        exp_avg, exp_avg_sq = flat.buffers["exp_avg"], flat.buffers["exp_avg_sq"]
        steps = self._next_steps(flat)
        if steps.count(steps[0]) == len(steps) and xp is not numpy and not group["amsgrad"]:
            # On a GPU the moments, the bias correction and the update are one kernel (one
            # pass instead of ~11); the parameters take it in place when they are one array.
            step = steps[0]
            fused.adam_update(g, exp_avg, exp_avg_sq, beta1, beta2, lr / (1 - beta1 ** step),
                              (1 - beta2 ** step) ** 0.5, eps, param=flat.param_flat, out=tmp)
            if flat.param_flat is None:
                flat.add_to_params(tmp)
            return
        # exp_avg.lerp_(g, 1 - beta1): exp_avg + (1 - beta1) * (g - exp_avg)
        xp.multiply(xp.subtract(g, exp_avg, out=tmp), 1 - beta1, out=tmp)
        xp.add(exp_avg, tmp, out=exp_avg)
        # exp_avg_sq.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        xp.multiply(xp.multiply(g, 1 - beta2, out=tmp), g, out=tmp)
        xp.add(xp.multiply(exp_avg_sq, beta2, out=exp_avg_sq), tmp, out=exp_avg_sq)
        second = exp_avg_sq
        if group["amsgrad"]:
            second = flat.buffers["max_exp_avg_sq"]
            xp.maximum(second, exp_avg_sq, out=second)
        if steps.count(steps[0]) == len(steps):
            self._apply(xp, exp_avg, second, denom, tmp, steps[0], lr, beta1, beta2, eps)
        else:
            # Parameters that gained a gradient later are at an earlier step: their own bias
            # correction, slice by slice.
            for step, m, v, d, t in zip(steps, flat.segments(exp_avg), flat.segments(second),
                                        flat.segments(denom), flat.segments(tmp)):
                self._apply(xp, m, v, d, t, step, lr, beta1, beta2, eps)
        flat.add_to_params(tmp)

    @staticmethod
    def _apply(xp, exp_avg, second, denom, out, step, lr, beta1, beta2, eps):
        """``out = -step_size * exp_avg / denom`` with PyTorch's bias-correction arithmetic."""
        step_size = lr / (1 - beta1 ** step)
        bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
        xp.sqrt(second, out=denom)
        xp.add(xp.divide(denom, bias_correction2_sqrt, out=denom), eps, out=denom)
        xp.divide(xp.multiply(exp_avg, -step_size, out=out), denom, out=out)
