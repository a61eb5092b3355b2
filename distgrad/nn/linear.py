"""``Linear`` (y = x Wᵀ + b) and ``Identity``."""
from .. import backend, ops
from . import init
from .module import Module
from .parameter import Parameter


class Linear(Module):
    """Fully connected layer; weight shape (out_features, in_features), PyTorch's init.

    >>> Linear(784, 128)(distgrad.randn(64, 784)).shape
    (64, 128)
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        if in_features <= 0 or out_features <= 0:
            raise ValueError(f"Linear needs positive sizes, got in_features={in_features}, "
                             f"out_features={out_features}")
        self.in_features, self.out_features = in_features, out_features
        xp = backend.array_module_for(device)
        dtype = dtype or backend.get_default_dtype()
        self.weight = Parameter(xp.empty((out_features, in_features), dtype=dtype))
        if bias:
            self.bias = Parameter(xp.empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        init.default_layer_init_(self.weight, self.bias)

    def forward(self, x):
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            raise RuntimeError(f"Linear(in_features={self.in_features}) got input of shape "
                               f"{tuple(x.shape)}")
        return ops.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Identity(Module):
    """Returns its input unchanged; any constructor arguments are ignored (as in PyTorch), so
    it can stand in for a layer being switched off.

    >>> Identity(54, unused="argument")(distgrad.ones(2)).tolist()
    [1.0, 1.0]
    """

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input
