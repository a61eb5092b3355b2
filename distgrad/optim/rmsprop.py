"""RMSprop with optional momentum and centering, PyTorch's update rule term for term."""
from .optimizer import Optimizer, _check_options


class RMSprop(Optimizer):
    """RMSprop (PyTorch's ``torch.optim.RMSprop``).

    Per parameter: ``g = grad + weight_decay * p``; ``v = alpha * v + (1 - alpha) * g * g``;
    ``avg = sqrt(v) + eps``, or, centered, ``avg = sqrt(v - mean_g**2) + eps`` with
    ``mean_g = lerp(mean_g, g, 1 - alpha)``; then with momentum ``buf = momentum * buf + g /
    avg; p -= lr * buf``, else ``p -= lr * g / avg``.

    Args:
        params: Tensors or param-group dicts.
        lr: learning rate.
        alpha: smoothing constant of the squared-gradient average.
        eps: added to the denominator for numerical stability.
        weight_decay: L2 penalty added to the gradient.
        momentum: momentum factor (0 disables the buffer).
        centered: normalise by an estimate of the gradient's variance.
        maximize: ascend instead of descend.

    >>> opt = RMSprop(model.parameters(), lr=1e-2)
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, maximize=False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group):
        _check_options(lr=group["lr"], eps=group["eps"], momentum=group["momentum"],
                      weight_decay=group["weight_decay"], alpha=group["alpha"])

    def _state_kinds(self, group):
        kinds = ("square_avg",)
        if group["momentum"] > 0:
            kinds += ("momentum_buffer",)
        return kinds + ("grad_avg",) if group["centered"] else kinds

    def _update(self, group, flat):
        xp = flat.xp
        lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
        momentum = float(group["momentum"])
        g = self._gradient(group, flat)
        tmp, avg = flat.scratch(1), flat.scratch(2)
        self._next_steps(flat)
        square_avg = flat.buffers["square_avg"]
        # square_avg.mul_(alpha).addcmul_(g, g, value=1 - alpha)
        xp.multiply(xp.multiply(g, 1 - alpha, out=tmp), g, out=tmp)
        xp.add(xp.multiply(square_avg, alpha, out=square_avg), tmp, out=square_avg)
        if group["centered"]:
            grad_avg = flat.buffers["grad_avg"]
            xp.add(grad_avg, xp.multiply(xp.subtract(g, grad_avg, out=tmp), 1 - alpha, out=tmp),
                   out=grad_avg)
            # square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
            xp.multiply(xp.negative(grad_avg, out=avg), grad_avg, out=avg)
            xp.sqrt(xp.add(square_avg, avg, out=avg), out=avg)
        else:
            xp.sqrt(square_avg, out=avg)
        xp.add(avg, eps, out=avg)
        if momentum > 0:
            buf = flat.buffers["momentum_buffer"]
            xp.add(xp.multiply(buf, momentum, out=buf), xp.divide(g, avg, out=tmp), out=buf)
            flat.add_to_params(xp.multiply(buf, -lr, out=tmp))
        else:
            flat.add_to_params(xp.divide(xp.multiply(g, -lr, out=tmp), avg, out=tmp))
