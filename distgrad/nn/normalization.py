"""``BatchNorm1d`` and ``BatchNorm2d`` with running statistics, as PyTorch keeps them."""
from .. import backend
from . import functional as F
from .module import Module
from .parameter import Parameter


class _BatchNorm(Module):
    _input_ndims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        xp = backend.array_module_for(device)
        dtype = dtype or backend.get_default_dtype()
        if affine:
            self.weight = Parameter(xp.ones(num_features, dtype=dtype))
            self.bias = Parameter(xp.zeros(num_features, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
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
        if self.training and self.num_batches_tracked is not None:
            self.num_batches_tracked.array += 1
        shape = x.shape
        if x.ndim == 3:  # (N, C, L) normalises like (N, C, L, 1)
            x = x.reshape(shape + (1,))
        y = F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                         self.training or self.running_mean is None, self.momentum, self.eps)
        return y.reshape(shape) if len(shape) == 3 else y

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over (N, C) or (N, C, L) input."""
    _input_ndims = (2, 3)
    _expected = "(N, num_features) or (N, num_features, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation over (N, C, H, W) input, per channel."""
    _input_ndims = (4,)
    _expected = "(N, num_features, H, W)"
