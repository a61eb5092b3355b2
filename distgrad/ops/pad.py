"""``pad``: widen (or, with negative amounts, crop) the last dimensions, PyTorch's ``F.pad``.

``constant`` fills with a value; ``reflect``, ``replicate`` and ``circular`` read the border
from the input itself. Every mode is one gather along each padded dimension (an index array
into the input), so one backward — scatter-add through the same indices — serves them all.
"""
import numbers

from ..autograd.function import ArrayFunction
from ..backend import get_array_module, index_add

_MODES = ("constant", "reflect", "replicate", "circular")


class ConstantPad(ArrayFunction):
    def forward(self, x, widths, value):
        xp = get_array_module(x)
        grow = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
        out = xp.pad(x, grow, mode="constant", constant_values=value)
        # Negative amounts crop, after the positive ones have grown the other side.
        self.crop = tuple(slice(max(-lo, 0), out.shape[d] - max(-hi, 0))
                          for d, (lo, hi) in enumerate(widths))
        self.inner = tuple(slice(lo, lo + n) for (lo, _), n in zip(grow, x.shape))
        self.shape = out.shape
        return out[self.crop]

    def backward(self, gy):
        full = get_array_module(gy).zeros(self.shape, dtype=gy.dtype)
        full[self.crop] = gy
        return full[self.inner]


class GatherPad(ArrayFunction):
    def forward(self, x, sources):
        # sources[d]: for each output position along dimension d, the input position it copies
        self.sources, self.shape = sources, x.shape
        for d, src in enumerate(sources):
            if src is not None:
                x = x.take(src, axis=d)
        return x

    def backward(self, gy):
        xp = get_array_module(gy)
        for d in reversed(range(len(self.sources))):
            src = self.sources[d]
            if src is None:
                continue
            shape = gy.shape[:d] + (self.shape[d],) + gy.shape[d + 1:]
            g = xp.zeros(shape, dtype=gy.dtype)
            index_add(g, (slice(None),) * d + (src,), gy)
            gy = g
        return gy


def _source_positions(xp, n, lo, hi, mode):
    """Input positions copied to each of the ``lo + n + hi`` output positions of one dimension."""
    pos = xp.arange(-lo, n + hi)
    if mode == "replicate":
        return xp.clip(pos, 0, n - 1)
    if mode == "circular":
        return pos % n
    period = 2 * (n - 1)  # reflect: mirror about the end elements, which are not repeated
    pos = xp.abs(pos) % period if period else xp.zeros_like(pos)
    return xp.where(pos >= n, period - pos, pos)


def pad(input, pad, mode="constant", value=None):
    """Pad the last ``len(pad) // 2`` dimensions: ``pad = (left, right, top, bottom, ...)``
    starts with the last dimension, as in PyTorch. Negative amounts crop (``constant`` only).

    >>> pad(distgrad.ones(1, 2, 3), (1, 1)).shape
    (1, 2, 5)
    """
    pad = tuple(pad)
    ndim = len(input.shape)
    if len(pad) % 2 or len(pad) // 2 > ndim or not all(isinstance(p, numbers.Integral) for p in pad):
        raise ValueError(f"pad got pad={pad} for a tensor of shape {tuple(input.shape)}: expected "
                         f"an even number of integers, at most two per dimension")
    if mode not in _MODES:
        raise ValueError(f"pad got mode={mode!r}: expected one of {', '.join(map(repr, _MODES))}")
    widths = [(0, 0)] * ndim
    for i in range(len(pad) // 2):
        widths[ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    for d, (lo, hi) in enumerate(widths):
        if input.shape[d] + lo + hi < 0:
            raise ValueError(f"pad {widths[d]} on dimension {d} of size {input.shape[d]} leaves "
                             f"a negative size")
    if mode == "constant":
        return ConstantPad.apply(input, widths=widths, value=0.0 if value is None else value)
    if value not in (None, 0):
        raise ValueError(f"pad got value={value} with mode={mode!r}: a fill value only applies "
                         f"to mode='constant'")
    xp = get_array_module(input.array)
    sources = []
    for d, (lo, hi) in enumerate(widths):
        n = input.shape[d]
        if lo == hi == 0:
            sources.append(None)
            continue
        if lo < 0 or hi < 0:
            raise ValueError(f"pad with mode={mode!r} got negative padding {widths[d]}")
        if mode == "reflect" and (lo >= n or hi >= n):
            raise ValueError(f"pad with mode='reflect' got padding {widths[d]} for dimension "
                             f"{d} of size {n}: padding must be smaller than the size")
        if mode == "circular" and (lo > n or hi > n):
            raise ValueError(f"pad with mode='circular' got padding {widths[d]} for dimension "
                             f"{d} of size {n}: padding must not exceed the size")
        if n == 0:
            raise ValueError(f"pad with mode={mode!r} cannot pad the empty dimension {d}")
        sources.append(_source_positions(xp, n, lo, hi, mode))
    return GatherPad.apply(input, sources=sources)
