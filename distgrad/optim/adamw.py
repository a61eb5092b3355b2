"""AdamW: Adam with weight decay decoupled from the gradient (``p *= 1 - lr * weight_decay``
before the Adam update), as PyTorch's ``torch.optim.AdamW``."""
from .adam import Adam


class AdamW(Adam):
    """Adam with decoupled weight decay (PyTorch's ``torch.optim.AdamW``).

    Each step first shrinks every parameter, ``p *= 1 - lr * weight_decay``, then applies Adam's
    update to the raw gradient. Arguments as ``Adam``; ``weight_decay`` defaults to 1e-2.

    >>> opt = AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
    """

    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize)
