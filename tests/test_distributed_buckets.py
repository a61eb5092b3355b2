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
