"""Read and write IDX files, the container format of MNIST and Fashion-MNIST (raw or gzip).

A file is read with one ``read()`` and decoded with one ``numpy.frombuffer``; every way a
download can go wrong (an HTML page saved as ``.gz``, a truncated file, ...) is an ``IDXError``.
"""
import gzip
import math
import os
import zlib

import numpy

from distgrad.atomic import write_atomic

# IDX type codes (third byte of the magic number) and their big-endian NumPy dtypes.
DTYPES = {
    0x08: numpy.dtype(">u1"),
    0x09: numpy.dtype(">i1"),
    0x0B: numpy.dtype(">i2"),
    0x0C: numpy.dtype(">i4"),
    0x0D: numpy.dtype(">f4"),
    0x0E: numpy.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


class IDXError(ValueError):
    """A file is not a valid IDX file (or not the gzip of one); the message names the file."""


def _looks_like_web_page(raw):
    head = raw[:512].lstrip().lower()
    return head.startswith((b"<!doctype", b"<html", b"<?xml", b"<head", b"<body"))


def decompress(raw, name, gzipped):
    """The IDX bytes held in ``raw`` (the contents of file or URL ``name``).

    ``gzipped`` says whether ``name`` claims to be gzip (a ``.gz`` name). Data that starts with
    the gzip magic is decompressed whatever its name, since no IDX file can start that way.
    """
    if _looks_like_web_page(raw):
        kind = "an XML document" if raw.lstrip()[:5].lower() == b"<?xml" else "an HTML page"
        raise IDXError(f"{name} is {kind}, not IDX data{' (gzip)' if gzipped else ''}: "
                       "a captive portal's login page or a server's error page was probably "
                       "saved in its place; delete it and download it again from a network "
                       "with direct access")
    if raw[:2] == _GZIP_MAGIC:
        try:
            return gzip.decompress(raw)
        except EOFError:
            raise IDXError(f"{name} is a truncated gzip file (the download was cut short?); "
                           "delete it and download it again") from None
        except (OSError, zlib.error) as exc:
            raise IDXError(f"{name} is a corrupt gzip file ({exc}); "
                           "delete it and download it again") from None
    if gzipped:
        raise IDXError(f"{name} is not gzip data (it starts with bytes {raw[:4].hex(' ')}, "
                       "gzip starts with 1f 8b); delete it and download it again, or if it is "
                       "an already decompressed IDX file, drop the .gz from its name")
    return raw


def parse_idx(buffer, name="<buffer>"):
    """Decode the IDX bytes ``buffer`` into a native-endian array (no copy for 1-byte dtypes).

    The result may be read-only (it can share memory with ``buffer``); copy it to write to it.
    """
    size = len(buffer)
    if size < 4:
        raise IDXError(f"{name} is truncated: {size} bytes, too short for the 4-byte IDX magic")
    magic = bytes(buffer[:4])
    if magic[:2] != b"\x00\x00":
        raise IDXError(f"{name} is not an IDX file: magic number {magic.hex(' ')} does not "
                       "start with two zero bytes")
    code, ndim = magic[2], magic[3]
    if code not in DTYPES:
        supported = ", ".join(f"0x{c:02X} ({d.name})" for c, d in DTYPES.items())
        raise IDXError(f"{name} has unsupported IDX dtype code 0x{code:02X}; "
                       f"supported: {supported}")
    header = 4 + 4 * ndim
    if size < header:
        raise IDXError(f"{name} is truncated: {size} bytes, but its header for {ndim} "
                       f"dimensions needs {header}")
    shape = tuple(int(d) for d in numpy.frombuffer(buffer, ">u4", ndim, offset=4))
    dtype = DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize
    found = size - header
    if found < expected:
        raise IDXError(f"{name} is truncated: shape {shape} of {dtype.name} needs "
                       f"{expected} bytes of data, found {found}; delete it and download it again")
    if found > expected:
        raise IDXError(f"{name} has {found - expected} trailing bytes after the {expected} "
                       f"bytes of data its header announces (shape {shape}); the file is corrupt "
                       "or not what its name says")
    array = numpy.frombuffer(buffer, dtype, offset=header).reshape(shape)
    return array if dtype.itemsize == 1 else array.astype(dtype.newbyteorder("="))


def read_idx(path):
    """Read IDX file ``path`` (``.gz`` or raw) into a NumPy array.

    >>> images = read_idx("t10k-images-idx3-ubyte.gz")    # doctest: +SKIP
    >>> images.shape, images.dtype                          # doctest: +SKIP
    ((10000, 28, 28), dtype('uint8'))
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        raw = f.read()
    return parse_idx(decompress(raw, path, gzipped=path.endswith(".gz")), path)


def encode_idx(array):
    """The IDX bytes of ``array`` (dtype uint8, int8, int16, int32, float32 or float64)."""
    array = numpy.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in _CODES:
        supported = ", ".join(d.name for d in _CODES)
        raise IDXError(f"IDX cannot store dtype {array.dtype}; supported: {supported}")
    if array.ndim > 255:
        raise IDXError(f"IDX stores at most 255 dimensions, got {array.ndim}")
    code = _CODES[native]
    header = bytes([0, 0, code, array.ndim]) + numpy.asarray(array.shape, ">u4").tobytes()
    return header + numpy.ascontiguousarray(array, DTYPES[code]).tobytes()


def write_idx(path, array, compresslevel=6):
    """Write ``array`` to IDX file ``path`` atomically, gzip-compressed when it ends in ``.gz``."""
    path = os.fspath(path)
    data = encode_idx(array)
    if path.endswith(".gz"):
        # mtime=0 makes the file's bytes depend only on the array (reproducible checksums).
        data = gzip.compress(data, compresslevel=compresslevel, mtime=0)
    write_atomic(path, lambda f: f.write(data))
