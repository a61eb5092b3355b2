"""Normalisation layers: ``BatchNorm1d``/``BatchNorm2d`` (running statistics, as PyTorch keeps
them) and the per-sample ``LayerNorm`` and ``GroupNorm``."""
from .. import backend
from . import functional as F
from .module import Module
from .parameter import Parameter


def _affine(module, shape, enabled, bias, device, dtype):
    xp = backend.array_module_for(device)
    dtype = dtype or backend.get_default_dtype()
    if enabled:
        module.weight = Parameter(xp.ones(shape, dtype=dtype))
    else:
        module.register_parameter("weight", None)
    if enabled and bias:
        module.bias = Parameter(xp.zeros(shape, dtype=dtype))
    else:
        module.register_parameter("bias", None)


class _BatchNorm(Module):
    _input_ndims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        _affine(self, (num_features,), affine, bias, device, dtype)
        xp = backend.array_module_for(device)
        dtype = dtype or backend.get_default_dtype()
        if track_running_stats:
            self.register_buffer("running_mean", xp.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", xp.ones(num_features, dtype=dtype))
            # Kept for state_dict compatibility with PyTorch (same keys).
            self.register_buffer("num_batches_tracked", xp.zeros((), dtype=backend.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def forward(self, x):
        if x.ndim not in self._input_ndims or x.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}(num_features={self.num_features}) got input of "
                             f"shape {tuple(x.shape)}; expected {self._expected}")
        momentum = self.momentum
        if self.training and self.num_batches_tracked is not None:
            self.num_batches_tracked.array += 1
            if momentum is None:  # PyTorch's cumulative moving average
                momentum = 1.0 / float(self.num_batches_tracked.array)
        shape = x.shape
        if x.ndim == 3:  # (N, C, L) normalises like (N, C, L, 1)
            x = x.reshape(shape + (1,))
        y = F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                         self.training or self.running_mean is None, momentum or 0.0, self.eps)
        return y.reshape(shape) if len(shape) == 3 else y

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over (N, C) or (N, C, L) input."""
    _input_ndims = (2, 3)
    _expected = "(N, num_features) or (N, num_features, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation over (N, C, H, W) input, per channel."""
    _input_ndims = (4,)
    _expected = "(N, num_features, H, W)"


class LayerNorm(Module):
    """Normalise each sample over its last dimensions ``normalized_shape``, then an elementwise
    affine (weight 1, bias 0 at first).

    >>> LayerNorm(10)(distgrad.randn(4, 10)).shape
    (4, 10)
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        _affine(self, self.normalized_shape, elementwise_affine, bias, device, dtype)

    def reset_parameters(self):
        """Weight back to ones, bias to zeros."""
        if self.weight is not None:
            self.weight.array[...] = 1
        if self.bias is not None:
            self.bias.array[...] = 0

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """Split the channels into ``num_groups`` groups and normalise each sample's group, then a
    per-channel affine."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None,
                 *, bias=True):
        super().__init__()
        if num_groups <= 0 or num_channels % num_groups:
            raise ValueError(f"GroupNorm got num_groups={num_groups} for num_channels="
                             f"{num_channels}: num_channels must be divisible by num_groups")
        self.num_groups, self.num_channels = num_groups, num_channels
        self.eps, self.affine = eps, affine
        _affine(self, (num_channels,), affine, bias, device, dtype)

    reset_parameters = LayerNorm.reset_parameters

    def forward(self, input):
        if len(input.shape) < 2 or input.shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm(num_channels={self.num_channels}) got input of shape "
                             f"{tuple(input.shape)}; expected (N, {self.num_channels}, *)")
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")
