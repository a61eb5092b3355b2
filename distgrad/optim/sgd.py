"""Stochastic gradient descent with optional (Nesterov) momentum, dampening and weight decay,
PyTorch's update rule term for term."""
from .optimizer import Optimizer, _check_options


class SGD(Optimizer):
    """Stochastic gradient descent (PyTorch's ``torch.optim.SGD``).

    Per parameter: ``g = grad + weight_decay * p``; with momentum ``buf = momentum * buf +
    (1 - dampening) * g`` (``buf = g`` on the first step) and ``g = g + momentum * buf``
    (nesterov) or ``g = buf``; then ``p -= lr * g``.

    Args:
        params: Tensors or param-group dicts.
        lr: learning rate.
        momentum: momentum factor (0 disables the buffer).
        dampening: how much of the gradient is damped when added to the buffer.
        weight_decay: L2 penalty added to the gradient.
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening 0).
        maximize: ascend instead of descend.

    >>> opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    >>> loss.backward(); opt.step(); opt.zero_grad()
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 maximize=False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group):
        _check_options(lr=group["lr"], momentum=group["momentum"],
                      weight_decay=group["weight_decay"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening "
                             f"(got momentum={group['momentum']}, dampening={group['dampening']})")

    def _state_kinds(self, group):
        return ("momentum_buffer",) if group["momentum"] != 0 else ()

    def _update(self, group, flat):
        xp = flat.xp
        lr, momentum = float(group["lr"]), float(group["momentum"])
        dampening, tmp = float(group["dampening"]), flat.scratch(1)
        g = self._gradient(group, flat)
        if momentum != 0:
            buf = flat.buffers["momentum_buffer"]
            fresh = flat.take_fresh()
            if not any(fresh):
                self._accumulate(xp, buf, g, momentum, dampening, tmp)
            elif all(fresh):
                xp.copyto(buf, g)
            else:
                # Parameters that just gained a gradient start their buffer from it.
                for new, b, gi, t in zip(fresh, flat.segments(buf), flat.segments(g),
                                         flat.segments(tmp)):
                    if new:
                        xp.copyto(b, gi)
                    else:
                        self._accumulate(xp, b, gi, momentum, dampening, t)
            if group["nesterov"]:
                g = xp.add(g, xp.multiply(buf, momentum, out=tmp), out=tmp)
            else:
                g = buf
        flat.add_to_params(xp.multiply(g, -lr, out=tmp))

    @staticmethod
    def _accumulate(xp, buf, g, momentum, dampening, tmp):
        """``buf.mul_(momentum).add_(g, alpha=1 - dampening)`` with ``tmp`` as scratch."""
        xp.multiply(buf, momentum, out=buf)
        xp.add(buf, xp.multiply(g, 1 - dampening, out=tmp), out=buf)
