"""Gradient buckets: which parameters share one all-reduce, and the flat buffers they live in.

Parameters are taken in reverse registration order (roughly the order backward finishes
their gradients), grouped per dtype, and a bucket is closed once it reaches its cap: the
first bucket of each dtype is small (1 MiB) so communication starts early, the rest use
``bucket_cap_mb``. With ``gradient_as_bucket_view`` each ``.grad`` is a view into the buffer.

``measured_bucket_assignment`` places the boundaries instead from when each gradient was ready
in a measured step and how fast the link is: the layout whose last all-reduce ends first.
"""
import numpy

from ..backend import get_array_module

FIRST_BUCKET_BYTES = 1 << 20


def compute_bucket_assignment(nbytes, dtypes, bucket_cap_bytes, first_bucket_bytes=FIRST_BUCKET_BYTES):
    """Group parameter indices into buckets; return a list of index lists in launch order.

    Each bucket lists its parameters in registration order, which is also their layout in
    the bucket's buffer: within one bucket the gradients then lie back to back in the order
    an optimiser walks them.

    Args:
        nbytes: gradient size in bytes of each parameter, in registration order.
        dtypes: dtype of each parameter (buckets never mix dtypes).
        bucket_cap_bytes: a bucket is closed once it holds at least this many bytes.
        first_bucket_bytes: the cap of the first bucket of each dtype (at most
            ``bucket_cap_bytes``).

    >>> compute_bucket_assignment([400, 40, 400, 40], ["f4"] * 4, 500, 100)
    [[2, 3], [0, 1]]
    """
    if bucket_cap_bytes <= 0:
        raise ValueError(f"bucket cap of {bucket_cap_bytes} bytes must be positive")
    first_cap = min(first_bucket_bytes, bucket_cap_bytes)
    open_buckets = {}   # dtype -> [indices, bytes, cap]
    closed = []
    for i in reversed(range(len(nbytes))):
        key = numpy.dtype(dtypes[i]).str
        bucket = open_buckets.setdefault(key, [[], 0, first_cap])
        bucket[0].append(i)
        bucket[1] += nbytes[i]
        if bucket[1] >= bucket[2]:
            closed.append(bucket[0])
            open_buckets[key] = [[], 0, bucket_cap_bytes]
    closed += [indices for indices, _, _ in open_buckets.values() if indices]
    # Launch order = the order buckets start filling: by their first (highest) index.
    closed.sort(key=lambda indices: -indices[0])
    return [sorted(indices) for indices in closed]


# What one more bucket costs beyond the link's latency: a hand-off to the progress thread, its
# wake-up, one more collective for the ranks to meet in; measured 0.2-2 ms per extra bucket
# of the MLP on a loaded 2-core machine, so a split must save more than this to be made.
BUCKET_OVERHEAD_SECONDS = 3e-4
_TIE = 1e-6


def measured_bucket_assignment(ready, nbytes, dtypes, latency, seconds_per_byte,
                               bucket_cap_bytes=None, overhead=BUCKET_OVERHEAD_SECONDS):
    """Buckets from measured gradient-ready times: the layout whose last all-reduce ends first.

    Gradients are taken in the order they became ready; a bucket is a run of consecutive ones
    (one dtype, at most ``bucket_cap_bytes`` unless a single gradient is larger) and is ready
    with its last gradient. All-reduces run one after another, each taking ``latency + bytes
    * seconds_per_byte``, so bucket k ends at ``max(ready_k, end_{k-1}) + its time``; the
    layout minimises the last end plus ``overhead`` per bucket (CPU work a bucket costs even
    when its transfer is hidden). An early bucket starts the link while backward still
    computes; dynamic programming over the split points (O(n^2)) finds the best trade.

    Args:
        ready: seconds from the first gradient to each parameter's gradient (registration order).
        nbytes, dtypes: gradient size and dtype of each parameter.
        latency: seconds of an empty all-reduce; seconds_per_byte: its cost per byte.

    Returns:
        A list of index lists in launch order, each in registration order (as
        ``compute_bucket_assignment``).

    >>> measured_bucket_assignment([0.0, 0.001, 0.02], [400, 4_000_000, 400], ["f4"] * 3,
    ...                            1e-4, 1e-8)
    [[0, 1], [2]]
    """
    n = len(nbytes)
    order = sorted(range(n), key=lambda i: (ready[i], -i))
    cap = float("inf") if bucket_cap_bytes is None else bucket_cap_bytes
    keys = [numpy.dtype(dtypes[i]).str for i in order]
    end = [0.0] + [float("inf")] * n     # end[j]: end of the first j gradients' buckets
    count = [0] * (n + 1)                # ... with this many buckets
    split = [0] * (n + 1)
    for j in range(1, n + 1):
        ready_j = ready[order[j - 1]]
        size = 0
        for i in range(j - 1, -1, -1):   # bucket = order[i:j]
            size += nbytes[order[i]]
            if keys[i] != keys[j - 1] or (size > cap and i < j - 1):
                break
            finish = max(ready_j, end[i]) + latency + size * seconds_per_byte
            # Each bucket also costs ``overhead`` of CPU (a hand-off, a wake-up), even when
            # its time on the link is hidden: a split must save more than that.
            score = finish + overhead * (count[i] + 1)
            if score < end[j] + overhead * count[j] - _TIE:
                end[j], count[j], split[j] = finish, count[i] + 1, i
    buckets, j = [], n
    while j > 0:
        buckets.append(sorted(order[split[j]:j]))
        j = split[j]
    return buckets[::-1]


class Bucket:
    """One flat, contiguous gradient buffer shared by several parameters of one dtype.

    ``buffer`` holds the gradients back to back, then ``tail`` extra elements that the
    reducer uses for control values reduced in the same collective (non-finite flag and
    per-parameter usage counts). ``views[k]`` is parameter k's gradient, shaped like it.
    """

    def __init__(self, index, params, names, tail=0):
        first = params[0].array
        xp = get_array_module(first)
        self.index = index
        self.params = list(params)
        self.names = list(names)
        self.dtype = first.dtype
        sizes = [int(p.array.size) for p in params]
        self.offsets = [int(o) for o in numpy.cumsum([0] + sizes[:-1])]
        self.numel = int(sum(sizes))
        self.buffer = xp.zeros(self.numel + tail, dtype=self.dtype)
        self.grads = self.buffer[:self.numel]
        self.tail = self.buffer[self.numel:]
        self.views = [self.buffer[o:o + n].reshape(p.shape)
                      for o, n, p in zip(self.offsets, sizes, params)]
        self.nbytes = int(self.buffer.nbytes)

    def __repr__(self):
        return (f"Bucket(index={self.index}, params={len(self.params)}, numel={self.numel}, "
                f"dtype={self.dtype}, nbytes={self.nbytes})")
