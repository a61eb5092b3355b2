"""Bucket assignment (reverse order, small first bucket, per dtype) and flat bucket buffers."""
import numpy
import pytest

import distgrad
from distgrad.distributed.buckets import Bucket, compute_bucket_assignment

MB = 1 << 20


def test_reverse_order_and_small_first_bucket():
    # 6 parameters of 0.6 MiB: the first bucket closes at 1 MiB (2 params), the next at 2 MiB.
    sizes = [int(0.6 * MB)] * 6
    buckets = compute_bucket_assignment(sizes, ["float32"] * 6, 2 * MB, MB)
    assert buckets == [[4, 5], [0, 1, 2, 3]]


def test_everything_below_the_first_cap_is_one_bucket():
    assert compute_bucket_assignment([400, 40, 4], ["f4"] * 3, 25 * MB) == [[0, 1, 2]]


def test_tiny_cap_gives_one_parameter_per_bucket():
    buckets = compute_bucket_assignment([400, 40, 4, 8], ["f4"] * 4, 1, MB)
    assert buckets == [[3], [2], [1], [0]]


def test_first_cap_never_exceeds_the_bucket_cap():
    buckets = compute_bucket_assignment([100] * 4, ["f4"] * 4, 150, MB)
    assert buckets == [[2, 3], [0, 1]]


def test_dtypes_never_share_a_bucket():
    dtypes = ["float32", "float64", "float32", "float64"]
    buckets = compute_bucket_assignment([8, 8, 8, 8], dtypes, MB)
    assert buckets == [[1, 3], [0, 2]]  # launch order: by the first gradient each receives


def test_nonpositive_cap_is_an_error():
    with pytest.raises(ValueError, match="bucket cap of 0 bytes"):
        compute_bucket_assignment([8], ["f4"], 0)


def test_bucket_views_share_one_flat_buffer():
    params = [distgrad.nn.Parameter(numpy.ones((3, 4), numpy.float32)),
              distgrad.nn.Parameter(numpy.ones(5, numpy.float32))]
    bucket = Bucket(0, params, ["w", "b"], tail=3)
    assert bucket.buffer.shape == (17 + 3,) and bucket.numel == 17
    assert [v.shape for v in bucket.views] == [(3, 4), (5,)]
    for view in bucket.views:
        assert numpy.shares_memory(view, bucket.buffer)
    bucket.views[1][...] = 7
    assert bucket.buffer[12:17].tolist() == [7] * 5
    assert bucket.tail.shape == (3,) and numpy.shares_memory(bucket.tail, bucket.buffer)
    assert bucket.nbytes == 20 * 4
    assert "params=2" in repr(bucket)


def test_measured_layout_starts_the_link_early_on_a_slow_link():
    from distgrad.distributed.buckets import measured_bucket_assignment
    # The CNN's shape: a large gradient ready 1 ms into a 20 ms backward, small ones after.
    ready = [0.020, 0.019, 0.010, 0.009, 0.001, 0.0009, 0.0002, 0.0001]
    nbytes = [1152, 128, 73728, 256, 819200, 512, 5120, 40]
    dtypes = ["f4"] * 8
    slow = measured_bucket_assignment(ready, nbytes, dtypes, 1e-4, 8 / 1e9)       # 1 Gbit/s
    # fc1's gradient (index 4) goes out in a bucket of its own layer's and the later ones,
    # before any conv gradient is ready.
    fc1 = next(k for k, b in enumerate(slow) if 4 in b)
    assert set(slow[fc1]) <= {4, 5, 6, 7} and fc1 < len(slow) - 1
    assert sorted(i for b in slow for i in b) == list(range(8))
    # A link so fast that nothing is worth a second latency: one bucket.
    fast = measured_bucket_assignment(ready, nbytes, dtypes, 1e-4, 1e-12)
    assert fast == [list(range(8))]


def test_measured_layout_counts_the_cpu_a_hidden_transfer_takes_from_backward():
    from distgrad.distributed.buckets import measured_bucket_assignment
    ready = [0.020, 0.019, 0.010, 0.009, 0.001, 0.0009, 0.0002, 0.0001]
    nbytes = [1152, 128, 73728, 256, 819200, 512, 5120, 40]
    dtypes = ["f4"] * 8
    # Measured on the emulated cluster: 1 Gbit/s, and a CPU-bound "10 Gbit/s" link whose
    # 900 kB all-reduce took ~1.1 ms while it delayed the computation beside it by ~1.3 ms.
    slow = measured_bucket_assignment(ready, nbytes, dtypes, 3e-4, 8e-9,
                                      cpu_seconds_per_byte=2e-9)
    assert len(slow) > 1 and 4 in slow[0]     # fc1 still goes out early: 6.6 ms hidden
    fast_free = measured_bucket_assignment(ready, nbytes, dtypes, 3e-4, 1.2e-9)
    assert len(fast_free) > 1                 # free CPU: hiding 1 ms is worth a bucket
    fast = measured_bucket_assignment(ready, nbytes, dtypes, 3e-4, 1.2e-9,
                                      cpu_seconds_per_byte=1.45e-9)
    assert fast == [list(range(8))]           # hiding it would cost backward more than it saves


def test_measured_layout_respects_caps_dtypes_and_ready_order():
    from distgrad.distributed.buckets import measured_bucket_assignment
    ready = [0.0, 0.0, 0.0, 0.0]
    layout = measured_bucket_assignment(ready, [100] * 4, ["f4", "f4", "f8", "f8"], 0.0, 1e-12,
                                        bucket_cap_bytes=1000)
    assert layout == [[2, 3], [0, 1]]   # ties: the highest index (registered last) first
    capped = measured_bucket_assignment([0.0] * 4, [600] * 4, ["f4"] * 4, 0.0, 1e-12,
                                        bucket_cap_bytes=1000)
    assert capped == [[3], [2], [1], [0]]
    order = measured_bucket_assignment([0.3, 0.1, 0.2], [8] * 3, ["f4"] * 3, 1.0, 0.0)
    assert order == [[0, 1, 2]]
    split = measured_bucket_assignment([3.0, 1.0, 2.0], [8] * 3, ["f4"] * 3, 0.1, 0.1,
                                       overhead=0.0)
    assert split == [[1], [2], [0]]   # ready order, each launched when ready
