"""``Conv2d``: 2-D convolution over NCHW input (im2col + one GEMM, see ``ops.conv``)."""
from .. import backend
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter


def _pair(v, name):
    pair = (v, v) if isinstance(v, int) else tuple(v)
    if len(pair) != 2 or not all(isinstance(i, int) for i in pair):
        raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}")
    return pair


class Conv2d(Module):
    """2-D convolution; weight shape (out_channels, in_channels, kh, kw), PyTorch's init.

    >>> Conv2d(1, 32, 3)(distgrad.randn(8, 1, 28, 28)).shape
    (8, 32, 26, 26)
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True,
                 device=None, dtype=None):
        super().__init__()
        if in_channels <= 0 or out_channels <= 0:
            raise ValueError(f"Conv2d needs positive channel counts, got in_channels={in_channels}, "
                             f"out_channels={out_channels}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride, self.padding = _pair(stride, "stride"), _pair(padding, "padding")
        xp = backend.array_module_for(device)
        dtype = dtype or backend.get_default_dtype()
        self.weight = Parameter(xp.empty((out_channels, in_channels) + self.kernel_size, dtype=dtype))
        if bias:
            self.bias = Parameter(xp.empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        init.default_layer_init_(self.weight, self.bias)

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise RuntimeError(f"Conv2d(in_channels={self.in_channels}) got input of shape "
                               f"{tuple(x.shape)}; expected (N, {self.in_channels}, H, W)")
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}")
