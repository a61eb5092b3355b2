"""Adagrad: each coordinate's step shrinks with the sum of its squared gradients (PyTorch's
update rule term for term, dense gradients)."""
import numpy

from .. import backend
from .optimizer import Optimizer, _check_options


class Adagrad(Optimizer):
    """Adagrad (PyTorch's ``torch.optim.Adagrad``).

    Per parameter, at step ``t``: ``g = grad + weight_decay * p``; ``s = s + g * g``;
    ``p -= lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)``.

    Args:
        params: Tensors or param-group dicts.
        lr: learning rate.
        lr_decay: the rate is divided by ``1 + (t - 1) * lr_decay``.
        weight_decay: L2 penalty added to the gradient.
        initial_accumulator_value: starting value of every ``s``.
        eps: added to the denominator for numerical stability.
        maximize: ascend instead of descend.

    As in PyTorch, ``state[p]`` exists from construction on: ``step`` (0) and the array ``sum``
    filled with ``initial_accumulator_value``.

    >>> opt = Adagrad(model.parameters(), lr=1e-2)
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, *, maximize=False):
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group):
        _check_options(lr=group["lr"], lr_decay=group["lr_decay"],
                       weight_decay=group["weight_decay"],
                       initial_accumulator_value=group["initial_accumulator_value"],
                       eps=group["eps"])

    def add_param_group(self, param_group):
        """Add a group of parameters (see ``Optimizer.add_param_group``) and start their ``sum``
        at the group's ``initial_accumulator_value``."""
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        for p in group["params"]:
            start = numpy.full(p.shape, group["initial_accumulator_value"], p.array.dtype)
            self.state[p].update(step=0, sum=backend.to_device(start, p.device))

    def _state_kinds(self, group):
        return ("sum",)

    def _update(self, group, flat):
        xp = flat.xp
        lr, lr_decay, eps = float(group["lr"]), float(group["lr_decay"]), float(group["eps"])
        g = self._gradient(group, flat)
        tmp, std = flat.scratch(1), flat.scratch(2)
        state_sum = flat.buffers["sum"]
        xp.add(state_sum, xp.multiply(g, g, out=tmp), out=state_sum)
        xp.add(xp.sqrt(state_sum, out=std), eps, out=std)
        xp.divide(g, std, out=tmp)
        for step, part in flat.runs(self._next_steps(flat)):
            xp.multiply(tmp[part], -lr / (1 + (step - 1) * lr_decay), out=tmp[part])
        flat.add_to_params(tmp)
