"""bfloat16 as uint16 bit patterns (NumPy has no bfloat16): rounding from float32, widening
back, and the sum MPI applies to such buffers (``op="bf16_sum"``)."""
import numpy

from ...backend import get_array_module

_QUIET_NAN = 0x7FC0


def to_bfloat16_bits(x):
    """float32 -> uint16 bit patterns of the nearest bfloat16 (ties to even; NaN stays NaN)."""
    xp = get_array_module(x)
    bits = xp.ascontiguousarray(x, dtype=xp.float32).view(xp.uint32)
    # Adding 0x7FFF plus the lowest kept bit rounds to nearest, ties to even, and carries into
    # the exponent (up to inf) exactly as rounding should.
    rounded = (bits + (0x7FFF + ((bits >> 16) & 1))) >> 16
    out = rounded.astype(xp.uint16)
    out[xp.isnan(x)] = _QUIET_NAN
    return out


def from_bfloat16_bits(bits):
    """uint16 bfloat16 bit patterns -> float32 (exact)."""
    xp = get_array_module(bits)
    return (bits.astype(xp.uint32) << 16).view(xp.float32)


def bf16_sum(inbuf, inoutbuf, datatype=None):
    """MPI user-op body: ``inoutbuf = round_bf16(inbuf + inoutbuf)`` on bfloat16 bits."""
    a = numpy.frombuffer(inbuf, dtype=numpy.uint16)
    b = numpy.frombuffer(inoutbuf, dtype=numpy.uint16)
    b[...] = to_bfloat16_bits(from_bfloat16_bits(a) + from_bfloat16_bits(b))
