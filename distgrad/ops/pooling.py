"""2-D pooling (PyTorch's ``max_pool2d``, ``avg_pool2d``, ``adaptive_avg_pool2d``), NCHW.

Like conv2d, max and average pooling work on the channels-last view and return NCHW-shaped
views of NHWC memory. A window is a loop over its kh×kw offsets, each one strided slice of the
whole batch: measured on the CNN's 2×2 pools, elementwise ``maximum`` over the four slices is
about nine times faster than a reshape + ``max(axis=(2, 4))`` reduction. Max pooling keeps
each window's argmax offset (one byte per output) for its backward.
"""
from ..autograd.function import ArrayFunction
from ..backend import get_array_module
from .im2col import channels_last, output_size, pair


def _window_args(name, x_shape, kernel_size, stride, padding):
    """Validated (kernel, stride, padding) pairs and the output size, with PyTorch's rules."""
    if len(x_shape) != 4:
        raise ValueError(f"{name} expects input of shape (N, C, H, W), got shape {tuple(x_shape)}")
    kernel = pair(kernel_size, f"{name} kernel_size")
    stride = kernel if stride is None else pair(stride, f"{name} stride")
    padding = pair(padding, f"{name} padding")
    if min(kernel) < 1 or min(stride) < 1:
        raise ValueError(f"{name} needs a positive kernel_size and stride, got "
                         f"kernel_size={kernel}, stride={stride}")
    if min(padding) < 0 or padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{name} padding must be between 0 and half the kernel size, got "
                         f"padding={padding} for kernel_size={kernel}")
    h, w = x_shape[2:]
    out = (output_size(h, kernel[0], stride[0], padding[0]),
           output_size(w, kernel[1], stride[1], padding[1]))
    if min(out) < 1:
        raise ValueError(f"{name} got input of shape {tuple(x_shape)}: with kernel_size={kernel}, "
                         f"stride={stride}, padding={padding} the output size {out} is empty")
    return kernel, stride, padding, out


def _pad(xh, padding, value):
    """``xh`` (N, H, W, C) with ``padding`` rows/columns of ``value`` on each side."""
    ph, pw = padding
    if not (ph or pw):
        return xh
    n, h, w, c = xh.shape
    out = get_array_module(xh).full((n, h + 2 * ph, w + 2 * pw, c), value, dtype=xh.dtype)
    out[:, ph:ph + h, pw:pw + w] = xh
    return out


def _windows(kernel, stride, out):
    """(i, j, slice of rows, slice of columns) of the padded input read by each kernel offset,
    in PyTorch's window order (row-major)."""
    (kh, kw), (sh, sw), (oh, ow) = kernel, stride, out
    return [(i, j, slice(i, i + (oh - 1) * sh + 1, sh), slice(j, j + (ow - 1) * sw + 1, sw))
            for i in range(kh) for j in range(kw)]


def _unpad(dxh, shape, padding):
    """The NCHW-shaped gradient of the unpadded input from the padded NHWC one."""
    (ph, pw), (h, w) = padding, shape[2:]
    return dxh[:, ph:ph + h, pw:pw + w].transpose(0, 3, 1, 2)


class MaxPool2d(ArrayFunction):
    def forward(self, x, kernel, stride, padding, out):
        xp = get_array_module(x)
        low = -xp.inf if x.dtype.kind == "f" else xp.iinfo(x.dtype).min
        xh = _pad(channels_last(x), padding, low)
        windows = _windows(kernel, stride, out)
        _, _, rows, cols = windows[0]
        y = xh[:, rows, cols].copy()
        # Which offset of its window each maximum came from: backward then needs only this
        # small array, not the input (measured ~30% less time over forward + backward). A
        # strictly greater value takes over, so ties keep the first maximum, as in PyTorch.
        argmax = xp.zeros(y.shape, dtype=xp.uint8 if len(windows) <= 256 else xp.int32)
        better = xp.empty(y.shape, dtype=bool)
        for k, (_, _, rows, cols) in enumerate(windows[1:], 1):
            xk = xh[:, rows, cols]
            xp.greater(xk, y, out=better)
            xp.maximum(y, xk, out=y)
            xp.maximum(argmax, better * argmax.dtype.type(k), out=argmax)
        self.argmax = argmax
        self.args = x.shape, xh.shape, kernel, stride, padding, out
        return y.transpose(0, 3, 1, 2)

    def backward(self, gy):
        shape, padded_shape, kernel, stride, padding, out = self.args
        xp = get_array_module(gy)
        g = gy.transpose(0, 2, 3, 1)
        disjoint = stride == kernel
        if disjoint:
            # Each input element is in at most one window: assign instead of accumulate, and
            # zero only the rows/columns that no window covers.
            dxh = xp.empty(padded_shape, dtype=gy.dtype)
            dxh[:, out[0] * kernel[0]:] = 0
            dxh[:, :, out[1] * kernel[1]:] = 0
        else:
            dxh = xp.zeros(padded_shape, dtype=gy.dtype)
        hit = xp.empty(self.argmax.shape, dtype=bool)
        for k, (_, _, rows, cols) in enumerate(_windows(kernel, stride, out)):
            xp.equal(self.argmax, k, out=hit)
            if disjoint:
                xp.multiply(g, hit, out=dxh[:, rows, cols])
            else:
                dxh[:, rows, cols] += g * hit
        return _unpad(dxh, shape, padding)


class AvgPool2d(ArrayFunction):
    def forward(self, x, kernel, stride, padding, out):
        xp = get_array_module(x)
        xh = _pad(channels_last(x), padding, 0)
        windows = _windows(kernel, stride, out)
        _, _, rows, cols = windows[0]
        y = xh[:, rows, cols].copy()
        for _, _, rows, cols in windows[1:]:
            xp.add(y, xh[:, rows, cols], out=y)
        # count_include_pad=True (PyTorch's default): padding counts toward the divisor.
        y /= kernel[0] * kernel[1]
        self.args = x.shape, xh.shape, kernel, stride, padding, out
        return y.transpose(0, 3, 1, 2)

    def backward(self, gy):
        shape, padded_shape, kernel, stride, padding, out = self.args
        xp = get_array_module(gy)
        g = gy.transpose(0, 2, 3, 1) / (kernel[0] * kernel[1])
        dxh = xp.zeros(padded_shape, dtype=g.dtype)
        for _, _, rows, cols in _windows(kernel, stride, out):
            dxh[:, rows, cols] += g
        return _unpad(dxh, shape, padding)


class AdaptiveAvgPool2dGlobal(ArrayFunction):
    def forward(self, x):
        self.shape = x.shape
        return x.mean(axis=(2, 3), keepdims=True)

    def backward(self, gy):
        n, c, h, w = self.shape
        return get_array_module(gy).broadcast_to(gy / (h * w), self.shape)


def max_pool2d(input, kernel_size, stride=None, padding=0):
    """Maximum over sliding (kH, kW) windows of an (N, C, H, W) tensor.

    Args:
        kernel_size: int or (kH, kW).
        stride: int or pair; defaults to ``kernel_size``.
        padding: implicit -inf on both sides, at most half the kernel size.

    The output size is PyTorch's floor rule; the gradient of each window goes to its first
    maximum (row-major), as in PyTorch.

    >>> max_pool2d(distgrad.randn(1, 3, 28, 28), 2).shape
    (1, 3, 14, 14)
    """
    kernel, stride, padding, out = _window_args("max_pool2d", input.shape, kernel_size, stride,
                                                padding)
    return MaxPool2d.apply(input, kernel=kernel, stride=stride, padding=padding, out=out)


def avg_pool2d(input, kernel_size, stride=None, padding=0):
    """Mean over sliding (kH, kW) windows of an (N, C, H, W) tensor; zero padding counts
    toward the divisor (PyTorch's ``count_include_pad=True``). Arguments as ``max_pool2d``."""
    kernel, stride, padding, out = _window_args("avg_pool2d", input.shape, kernel_size, stride,
                                                padding)
    return AvgPool2d.apply(input, kernel=kernel, stride=stride, padding=padding, out=out)


def adaptive_avg_pool2d(input, output_size):
    """Global average pooling: (N, C, H, W) → (N, C, 1, 1). Only ``output_size`` 1 (or (1, 1))
    is supported."""
    if output_size not in (1, (1, 1), [1, 1]):
        raise ValueError(f"adaptive_avg_pool2d supports output_size=1 (global average pooling) "
                         f"only, got output_size={output_size!r}")
    if len(input.shape) != 4:
        raise ValueError(f"adaptive_avg_pool2d expects input of shape (N, C, H, W), got shape "
                         f"{tuple(input.shape)}")
    return AdaptiveAvgPool2dGlobal.apply(input)
