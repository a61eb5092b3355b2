"""``Dropout``: zero elements with probability p during training, scaled by 1/(1-p)."""
from . import functional as F
from .module import Module


class Dropout(Module):
    """Inverted dropout: identity in eval mode, so no rescaling is needed at test time."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        self.inplace = inplace  # accepted for PyTorch code; the result is always a new array
        if not 0 <= p <= 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"
