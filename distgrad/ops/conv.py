"""2-D convolution (PyTorch's ``conv2d``, NCHW) as im2col + one GEMM (bias included). Backward:
one GEMM for the weight and bias gradients, one batched matmul + col2im for the input's.

Inside, the work is channels-last: the input is viewed as NHWC (free when it already lives in
that memory order, as every conv, pool and elementwise output here does), the GEMM writes NHWC,
and the result is returned as an NCHW-shaped *view* of that memory — so a chain of conv →
relu → pool never transposes the activations.
"""
from ..autograd.function import ArrayFunction
from ..backend import get_array_module
from .im2col import Recycled, channels_last, col2im, im2col, output_size, pair, recycle, scratch


class Conv2d(ArrayFunction):
    def forward(self, x, weight, bias=None, stride=(1, 1), padding=(0, 0)):
        if x.ndim != 4:
            raise ValueError(f"conv2d expects input of shape (N, C, H, W), got shape {x.shape}")
        if weight.ndim != 4:
            raise ValueError(f"conv2d expects weight of shape (out_channels, in_channels, kH, kW), "
                             f"got shape {weight.shape}")
        n, c, h, w = x.shape
        oc, wc, kh, kw = weight.shape
        if c != wc:
            raise ValueError(f"conv2d got input of shape {x.shape} with {c} channels but weight "
                             f"of shape {weight.shape} expects {wc}")
        if bias is not None and bias.shape != (oc,):
            raise ValueError(f"conv2d got bias of shape {bias.shape} for weight of shape "
                             f"{weight.shape}: expected ({oc},)")
        (sh, sw), (ph, pw) = stride, padding
        if h + 2 * ph < kh or w + 2 * pw < kw:
            raise ValueError(f"conv2d got input of shape {x.shape} with padding {padding}: the "
                             f"padded size ({h + 2 * ph}, {w + 2 * pw}) is smaller than the "
                             f"kernel ({kh}, {kw})")
        xp = get_array_module(x)
        oh, ow = output_size(h, kh, sh, ph), output_size(w, kw, sw, pw)
        k = kh * kw * c
        col = im2col(channels_last(x), (kh, kw), stride, padding, ones_column=bias is not None)
        # The weight in the columns' (KH, KW, C) order, the bias as the weight of their column
        # of ones: a small copy per call that saves a pass over the output adding the bias.
        wm = xp.empty((oc, col.shape[1]), dtype=weight.dtype)
        wm[:, :k] = weight.transpose(0, 2, 3, 1).reshape(oc, k)
        if bias is not None:
            wm[:, k] = bias
        y = col @ wm.T
        if any(self.needs_input_grad):
            self.save_for_backward(wm)
            self.columns = Recycled(col)
        else:
            recycle(col)
        self.sizes = (n, oh, ow, c), (kh, kw), (h, w), stride, padding
        return y.reshape(n, oh, ow, oc).transpose(0, 3, 1, 2)

    def backward(self, gy):
        wm, = self.saved_tensors
        col = self.columns.array
        (n, oh, ow, c), (kh, kw), input_size, stride, padding = self.sizes
        xp = get_array_module(col)
        oc, k = wm.shape[0], kh * kw * c
        g2 = channels_last(gy).reshape(n * oh * ow, oc)
        gx = gw = gb = None
        if self.needs_input_grad[1] or self.needs_input_grad[2]:
            gwb = g2.T @ col  # (OC, K + 1): the ones column's gradient is the bias gradient
            if self.needs_input_grad[1]:
                gw = xp.ascontiguousarray(gwb[:, :k].reshape(oc, kh, kw, c).transpose(0, 3, 1, 2))
            if self.needs_input_grad[2]:
                gb = xp.ascontiguousarray(gwb[:, k])
        if self.needs_input_grad[0]:
            # One batched matmul gives the columns offset-major, (KH·KW, M, C): col2im then
            # adds contiguous blocks, which measured 1.5-3× faster than adding C-long runs
            # picked out of an (M, KH·KW·C) matrix.
            w_offsets = wm[:, :k].reshape(oc, kh * kw, c).transpose(1, 0, 2)
            cols = scratch(xp, (kh * kw, n * oh * ow, c), xp.result_type(g2, wm))
            xp.matmul(g2, w_offsets, out=cols)
            gx = col2im(cols.reshape(kh, kw, n, oh, ow, c), input_size, stride, padding)
            gx = gx.transpose(0, 3, 1, 2)
            recycle(cols)
        return gx, gw, gb


def conv2d(input, weight, bias=None, stride=1, padding=0):
    """2-D convolution over an (N, C, H, W) input with a (out_channels, C, kH, kW) weight.

    Args:
        input: (N, C, H, W) tensor.
        weight: (out_channels, C, kH, kW) tensor.
        bias: optional (out_channels,) tensor.
        stride: int or (sH, sW) pair.
        padding: int or (pH, pW) pair of zeros added on both sides.

    Returns:
        (N, out_channels, OH, OW) tensor, ``OH = (H + 2 pH - kH) // sH + 1``.

    >>> x = distgrad.randn(2, 3, 8, 8)
    >>> conv2d(x, distgrad.randn(4, 3, 3, 3), padding=1).shape
    (2, 4, 8, 8)
    """
    stride, padding = pair(stride, "conv2d stride"), pair(padding, "conv2d padding")
    if min(stride) < 1:
        raise ValueError(f"conv2d stride must be positive, got {stride}")
    if min(padding) < 0:
        raise ValueError(f"conv2d padding must be non-negative, got {padding}")
    return Conv2d.apply(input, weight, bias, stride=stride, padding=padding)
