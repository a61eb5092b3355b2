"""Matrix products: ``matmul`` (NumPy semantics, batched and broadcast) and the fused ``linear``."""
from ..autograd.function import ArrayFunction
from ..backend import get_array_module
from .broadcast import unbroadcast


class MatMul(ArrayFunction):
    def forward(self, x, y):
        kx = x.shape[-1]
        ky = y.shape[-2] if y.ndim > 1 else y.shape[0]
        if x.ndim == 0 or y.ndim == 0 or kx != ky:
            raise RuntimeError(f"matmul got shapes {x.shape} and {y.shape}: the inner dimensions "
                               f"({kx if x.ndim else '-'} and {ky if y.ndim else '-'}) must match")
        self.save_for_backward(x, y)
        return x @ y

    def backward(self, gy):
        x, y = self.saved_tensors
        xp = get_array_module(gy)
        if x.ndim == 1 and y.ndim == 1:
            return (gy * y if self.needs_input_grad[0] else None,
                    gy * x if self.needs_input_grad[1] else None)
        # Promote vectors to matrices so one rule covers every case, then undo it.
        x2 = x[None, :] if x.ndim == 1 else x
        y2 = y[:, None] if y.ndim == 1 else y
        g2 = gy
        if x.ndim == 1:
            g2 = xp.expand_dims(g2, -2)
        if y.ndim == 1:
            g2 = xp.expand_dims(g2, -1)
        gx = gw = None
        if self.needs_input_grad[0]:
            gx = unbroadcast(g2 @ xp.swapaxes(y2, -1, -2), x2.shape).reshape(x.shape)
        if self.needs_input_grad[1]:
            gw = unbroadcast(xp.swapaxes(x2, -1, -2) @ g2, y2.shape).reshape(y.shape)
        return gx, gw


class Linear(ArrayFunction):
    """``x @ w.T + b`` in one node: one GEMM forward, at most two backward."""

    def forward(self, x, w, b=None):
        if x.ndim < 1 or x.shape[-1] != w.shape[1]:
            raise RuntimeError(f"Linear(in_features={w.shape[1]}, out_features={w.shape[0]}) got "
                               f"input of shape {x.shape}")
        self.save_for_backward(x, w)
        y = x @ w.T
        if b is not None:
            y += b
        return y

    def backward(self, gy):
        x, w = self.saved_tensors
        gx = gw = gb = None
        if self.needs_input_grad[0]:
            gx = gy @ w
        if self.needs_input_grad[1]:
            gw = gy.reshape(-1, gy.shape[-1]).T @ x.reshape(-1, x.shape[-1])
        if len(self.needs_input_grad) > 2 and self.needs_input_grad[2]:
            gb = gy.reshape(-1, gy.shape[-1]).sum(axis=0)
        return (gx, gw) if len(self.needs_input_grad) == 2 else (gx, gw, gb)


def matmul(a, b):
    """Matrix product with NumPy's rules (vectors, batches, broadcasting)."""
    return MatMul.apply(a, b)


def linear(x, weight, bias=None):
    """``x @ weight.T + bias``; ``weight`` has shape (out_features, in_features)."""
    if bias is None:
        return Linear.apply(x, weight)
    return Linear.apply(x, weight, bias)
