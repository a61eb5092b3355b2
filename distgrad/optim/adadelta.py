"""Adadelta: step sizes from running averages of squared gradients and squared updates, so no
learning-rate tuning is needed (PyTorch's update rule term for term)."""
from .optimizer import Optimizer, _check_options


class Adadelta(Optimizer):
    """Adadelta (PyTorch's ``torch.optim.Adadelta``).

    Per parameter: ``g = grad + weight_decay * p``; ``v = rho * v + (1 - rho) * g * g``;
    ``delta = sqrt(u + eps) / sqrt(v + eps) * g``; ``u = rho * u + (1 - rho) * delta * delta``;
    ``p -= lr * delta``.

    Args:
        params: Tensors or param-group dicts.
        lr: scale applied to the update.
        rho: decay rate of the running averages.
        eps: added inside the square roots for numerical stability.
        weight_decay: L2 penalty added to the gradient.
        maximize: ascend instead of descend.

    ``state[p]`` holds ``step`` and the arrays ``square_avg`` (``v``) and ``acc_delta`` (``u``).

    >>> opt = Adadelta(model.parameters())
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, *, maximize=False):
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group):
        _check_options(lr=group["lr"], rho=group["rho"], eps=group["eps"],
                       weight_decay=group["weight_decay"])

    def _state_kinds(self, group):
        return ("square_avg", "acc_delta")

    def _update(self, group, flat):
        xp = flat.xp
        lr, rho, eps = float(group["lr"]), float(group["rho"]), float(group["eps"])
        g = self._gradient(group, flat)
        tmp, delta = flat.scratch(1), flat.scratch(2)
        self._next_steps(flat)
        square_avg, acc_delta = flat.buffers["square_avg"], flat.buffers["acc_delta"]
        xp.multiply(xp.multiply(g, 1 - rho, out=tmp), g, out=tmp)
        xp.add(xp.multiply(square_avg, rho, out=square_avg), tmp, out=square_avg)
        xp.sqrt(xp.add(square_avg, eps, out=tmp), out=tmp)
        xp.sqrt(xp.add(acc_delta, eps, out=delta), out=delta)
        xp.multiply(xp.divide(delta, tmp, out=delta), g, out=delta)
        xp.multiply(xp.multiply(delta, 1 - rho, out=tmp), delta, out=tmp)
        xp.add(xp.multiply(acc_delta, rho, out=acc_delta), tmp, out=acc_delta)
        flat.add_to_params(xp.multiply(delta, -lr, out=tmp))
