"""im2col / col2im on channels-last (NHWC) arrays — what turns a convolution into one GEMM —
and the window-argument parsing and layout code that convolution and pooling share.

The forward columns are an (N·OH·OW, KH·KW·C) GEMM operand: each of the kh×kw kernel offsets
fills its part with one shifted, strided slice copy (C contiguous values per pixel). The
backward columns are offset-major (KH, KW, N, OH, OW, C), so col2im is kh×kw additions of
contiguous blocks. No per-element gather, no scatter-add, and padding is never materialised:
each offset touches only the rows and columns inside the input.
"""
import numbers

from ..backend import get_array_module


def pair(value, name):
    """``value`` as a pair of ints (an int means the same along both axes)."""
    if isinstance(value, numbers.Integral):
        return int(value), int(value)
    if (isinstance(value, (tuple, list)) and len(value) == 2
            and all(isinstance(v, numbers.Integral) for v in value)):
        return int(value[0]), int(value[1])
    raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")


def channels_last(x):
    """The (N, H, W, C) contiguous view of an NCHW-shaped array (a copy only when its memory
    is in NCHW order with more than one channel)."""
    xh = x.transpose(0, 2, 3, 1)
    return xh if xh.flags.c_contiguous else get_array_module(x).ascontiguousarray(xh)


# Column matrices are large (36 MB for the CNN's second conv at batch 256). Past glibc's mmap
# threshold (32 MB) a freed array goes back to the OS and the next one is page-faulted and
# zeroed by the kernel, measured at ~4 ms per such array; so dead column buffers are kept for
# the next call with the same shape. At most two per shape, for the four most recent shapes.
_spare = {}


def scratch(xp, shape, dtype):
    """An uninitialised array, a recycled one of the same shape and dtype when there is one."""
    key = (xp.__name__, shape, xp.dtype(dtype).str)
    spare = _spare.get(key)
    return spare.pop() if spare else xp.empty(shape, dtype=dtype)


def recycle(array):
    """Give a dead ``scratch`` array back for reuse (its contents will be overwritten)."""
    key = (get_array_module(array).__name__, array.shape, array.dtype.str)
    spare = _spare.pop(key, [])
    _spare[key] = spare  # most recently used last
    if len(spare) < 2:
        spare.append(array)
    while len(_spare) > 4:
        del _spare[next(iter(_spare))]


class Recycled:
    """Holds a ``scratch`` array for a graph node and recycles it when the node lets go — after
    its backward, or when the graph is dropped — so a retained graph keeps its own."""

    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    def __del__(self):
        recycle(self.array)


def output_size(size, kernel, stride, padding):
    """PyTorch's (floor) output length of a window sliding over ``size`` padded values."""
    return (size + 2 * padding - kernel) // stride + 1


def _valid(offset, size, out_size, stride, padding):
    """For one kernel offset along one axis: the output range ``[o0, o1)`` whose input index
    ``o * stride + offset - padding`` lies inside ``[0, size)``, and the input slice it reads."""
    o0 = max(0, -((offset - padding) // stride))
    o1 = max(o0, min(out_size, (size - 1 + padding - offset) // stride + 1))
    start = o0 * stride + offset - padding
    return o0, o1, slice(start, start + (o1 - o0 - 1) * stride + 1, stride)


def im2col(xh, kernel_size, stride, padding, ones_column=False):
    """The (N·OH·OW, KH·KW·C) column matrix of ``xh`` (N, H, W, C): row (n, oh, ow) holds the
    input window under output pixel (n, oh, ow) in (KH, KW, C) order, zeros where it overlaps
    padding. ``ones_column`` appends a column of ones, so that a GEMM with the bias appended
    to the weight adds the bias, and the weight-gradient GEMM yields the bias gradient.
    The matrix comes from ``scratch``: ``recycle`` it once it is dead."""
    xp = get_array_module(xh)
    n, h, w, c = xh.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    oh, ow = output_size(h, kh, sh, ph), output_size(w, kw, sw, pw)
    k = kh * kw * c
    col = scratch(xp, (n * oh * ow, k + bool(ones_column)), xh.dtype)
    if ones_column:
        col[:, k] = 1
    windows = col[:, :k].reshape(n, oh, ow, kh, kw, c)  # a view: both axes only split
    for i in range(kh):
        r0, r1, rows = _valid(i, h, oh, sh, ph)
        for j in range(kw):
            c0, c1, cols = _valid(j, w, ow, sw, pw)
            if r1 > r0 and c1 > c0:
                windows[:, r0:r1, c0:c1, i, j] = xh[:, rows, cols]
            if ph or pw:  # only the border strips that overlap padding need zeros
                windows[:, :r0, :, i, j] = 0
                windows[:, r1:, :, i, j] = 0
                windows[:, r0:r1, :c0, i, j] = 0
                windows[:, r0:r1, c1:, i, j] = 0
    return col


def col2im(cols, input_size, stride, padding):
    """The adjoint of ``im2col``, from offset-major columns: add ``cols[i, j]`` (N, OH, OW, C),
    the gradient reaching kernel offset (i, j), under every window of an (N, H, W, C) array,
    ``input_size`` being (H, W). Each source block is contiguous, so each addition streams."""
    xp = get_array_module(cols)
    kh, kw, n, oh, ow, c = cols.shape
    h, w = input_size
    (sh, sw), (ph, pw) = stride, padding
    dx = xp.zeros((n, h, w, c), dtype=cols.dtype)
    for i in range(kh):
        r0, r1, rows = _valid(i, h, oh, sh, ph)
        for j in range(kw):
            c0, c1, cols_j = _valid(j, w, ow, sw, pw)
            if r1 > r0 and c1 > c0:
                dx[:, rows, cols_j] += cols[i, j, :, r0:r1, c0:c1]
    return dx
