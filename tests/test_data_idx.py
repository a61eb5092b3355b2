"""IDX reader and writer: round trips for every dtype, and a clear error for every corrupt file."""
import gzip
import os

import numpy
import pytest

from distgrad.data.idx import IDXError, encode_idx, parse_idx, read_idx, write_idx

DTYPES = [numpy.uint8, numpy.int8, numpy.int16, numpy.int32, numpy.float32, numpy.float64]


def _sample(dtype, shape):
    rng = numpy.random.default_rng(0)
    if numpy.issubdtype(dtype, numpy.integer):
        info = numpy.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(7,), (3, 4, 5), (2, 1, 3, 3), (0, 28, 28)])
def test_round_trip(tmp_path, dtype, shape, suffix):
    array = _sample(dtype, shape)
    path = tmp_path / f"x-idx{len(shape)}-ubyte{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == numpy.dtype(dtype) and back.dtype.isnative
    assert back.shape == shape
    numpy.testing.assert_array_equal(back, array)
    assert os.listdir(tmp_path) == [path.name]  # the atomic write left no temporary file


def test_layout_is_big_endian_idx():
    data = encode_idx(numpy.array([[1, 2, 3], [4, 5, 6]], numpy.int16))
    assert data[:4] == b"\x00\x00\x0b\x02"
    assert data[4:12] == b"\x00\x00\x00\x02\x00\x00\x00\x03"
    assert data[12:14] == b"\x00\x01" and len(data) == 12 + 6 * 2


def test_gz_output_is_reproducible(tmp_path):
    array = _sample(numpy.uint8, (10, 28, 28))
    write_idx(tmp_path / "a.gz", array)
    write_idx(tmp_path / "b.gz", array)
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()
    assert (tmp_path / "a.gz").read_bytes()[:2] == b"\x1f\x8b"


def test_gzip_data_without_gz_name_is_read(tmp_path):
    array = _sample(numpy.uint8, (4, 5))
    (tmp_path / "plain").write_bytes(gzip.compress(encode_idx(array)))
    numpy.testing.assert_array_equal(read_idx(tmp_path / "plain"), array)


def test_rejects_unsupported_dtype_on_write(tmp_path):
    with pytest.raises(IDXError, match="int64"):
        write_idx(tmp_path / "x", numpy.zeros(3, numpy.int64))
    assert not os.listdir(tmp_path)


GOOD = encode_idx(numpy.arange(12, dtype=numpy.uint8).reshape(3, 4))
CORRUPT = {
    "wrong magic": (b"\x01\x02\x08\x01" + GOOD[4:], "magic number 01 02 08 01"),
    "dtype code": (b"\x00\x00\x07\x02" + GOOD[4:], "unsupported IDX dtype code 0x07"),
    "short magic": (b"\x00\x00", "too short for the 4-byte IDX magic"),
    "short header": (GOOD[:9], "header for 2 dimensions needs 12"),
    "truncated data": (GOOD[:-1], "needs 12 bytes of data, found 11"),
    "trailing bytes": (GOOD + b"\x00\x00", "2 trailing bytes"),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_corrupt_payloads_name_the_file(tmp_path, case, suffix):
    payload, message = CORRUPT[case]
    path = tmp_path / f"bad-{case.replace(' ', '-')}{suffix}"
    path.write_bytes(gzip.compress(payload) if suffix else payload)
    with pytest.raises(IDXError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("page", [b"<!DOCTYPE html>\n<html><body>Sign in to Wi-Fi</body></html>",
                                  b"  \n<html><head><title>Blocked</title></head></html>",
                                  b"<?xml version='1.0'?><Error><Code>AccessDenied</Code></Error>"])
def test_html_page_saved_as_gz(tmp_path, page):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(page)
    kind = "XML document" if page.startswith(b"<?xml") else "HTML page"
    with pytest.raises(IDXError, match=f"is an {kind}, not IDX data.*captive portal") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_not_gzip_although_named_gz(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(GOOD)
    with pytest.raises(IDXError, match="not gzip data.*00 00 08 02.*drop the .gz") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_truncated_gzip(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(GOOD * 100)[:-20])
    with pytest.raises(IDXError, match="truncated gzip file"):
        read_idx(path)


def test_corrupt_gzip_crc(tmp_path):
    data = bytearray(gzip.compress(GOOD))
    data[-8] ^= 0xFF  # the CRC32 of the trailer
    path = tmp_path / "x.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(IDXError, match="corrupt gzip file"):
        read_idx(path)


def test_parse_shares_memory_for_bytes_and_is_native_for_wide_types():
    array = parse_idx(GOOD, "buf")
    assert numpy.shares_memory(array, numpy.frombuffer(GOOD, numpy.uint8))
    wide = parse_idx(encode_idx(numpy.array([1.5, -2.0], numpy.float64)))
    assert wide.dtype.isnative and wide.tolist() == [1.5, -2.0]
