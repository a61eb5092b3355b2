"""Gradient buckets: which parameters share one all-reduce, and the flat buffers they live in.

Parameters are taken in reverse registration order (roughly the order backward finishes
their gradients), grouped per dtype, and a bucket is closed once it reaches its cap: the
first bucket of each dtype is small (1 MiB) so communication starts early, the rest use
``bucket_cap_mb``. With ``gradient_as_bucket_view`` each ``.grad`` is a view into the buffer.
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
