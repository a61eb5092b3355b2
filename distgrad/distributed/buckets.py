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
                               bucket_cap_bytes=None, overhead=BUCKET_OVERHEAD_SECONDS,
                               cpu_seconds_per_byte=0.0):
    """Buckets from measured gradient-ready times: the layout whose step ends first.

    Gradients are taken in the order they became ready; a bucket is a run of consecutive ones
    (one dtype, at most ``bucket_cap_bytes`` unless a single gradient is larger) and is ready
    with its last gradient. All-reduces run one after another, each taking ``latency + bytes
    * seconds_per_byte``, so bucket k ends at ``max(ready_k, end_{k-1}) + its time``. An early
    bucket starts the link while backward still computes, but moving its bytes also costs CPU
    (``cpu_seconds_per_byte``: the TCP stack's and MPI's work on the rank's cores), and what
    of that falls before backward ends delays backward and every later gradient. Each bucket
    also costs ``overhead`` (a hand-off, a wake-up) even when hidden. The layout minimises
    when the last all-reduce or backward ends, whichever is later, plus the overheads;
    dynamic programming over the split points (O(n^2)) finds the best trade, exactly without
    the CPU term; with it, a prefix of buckets is ranked by when its link is free plus the
    backward time it took (a heuristic: the two are not interchangeable). On a link whose
    transfers cost backward as much CPU as they would take exposed, one bucket wins.

    Args:
        ready: seconds from the first gradient to each parameter's gradient (registration order).
        nbytes, dtypes: gradient size and dtype of each parameter.
        latency: seconds of an empty all-reduce; seconds_per_byte: its cost per byte.
        cpu_seconds_per_byte: compute time an all-reduce takes from backward per byte.

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
    backward_end = max(ready) if n else 0.0
    # For the first j gradients (in ready order) in their best buckets: when their last
    # all-reduce ends, how much CPU those buckets took from backward, how many there are,
    # where the last one starts, and the score that ranked them.
    end, delay, count, split = [0.0] * (n + 1), [0.0] * (n + 1), [0] * (n + 1), [0] * (n + 1)
    best = [0.0] + [float("inf")] * n
    for j in range(1, n + 1):
        ready_j = ready[order[j - 1]]
        size = 0
        for i in range(j - 1, -1, -1):   # bucket = order[i:j]
            size += nbytes[order[i]]
            if keys[i] != keys[j - 1] or (size > cap and i < j - 1):
                break
            start = max(ready_j + delay[i], end[i])
            link = latency + size * seconds_per_byte
            finish = start + link
            # The part of the transfer that runs while backward still computes takes its
            # share of the CPU from backward.
            still_computing = backward_end + delay[i] - start
            share = min(1.0, still_computing / link) if still_computing > 0 and link > 0 else 0.0
            taken = delay[i] + share * size * cpu_seconds_per_byte
            if j < n:   # what later buckets inherit: the link busy until finish, backward late
                score = finish + taken + overhead * (count[i] + 1)
            else:       # the step: the later of the last all-reduce and backward
                score = max(finish, backward_end + taken) + overhead * (count[i] + 1)
            if score < best[j] - _TIE:
                best[j], end[j], delay[j] = score, finish, taken
                count[j], split[j] = count[i] + 1, i
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
