"""Matrix products with PyTorch's shape rules — ``mm`` (2-D), ``bmm`` (3-D), ``dot`` (1-D),
``outer``, ``t`` — composed from ``matmul``, ``mul`` and ``transpose``."""
from .arithmetic import mul
from .linalg import matmul
from .shape import reshape, transpose


def _check(name, tensors, ndim):
    for t in tensors:
        if t.ndim != ndim:
            raise RuntimeError(f"{name}: expected {ndim}-D tensors, got shapes "
                               f"{[tuple(t.shape) for t in tensors]}")


def mm(input, mat2):
    """Product of two matrices: (n, m) @ (m, p) -> (n, p)."""
    _check("mm", (input, mat2), 2)
    return matmul(input, mat2)


def bmm(input, mat2):
    """Batched matrix product: (b, n, m) @ (b, m, p) -> (b, n, p)."""
    _check("bmm", (input, mat2), 3)
    if input.shape[0] != mat2.shape[0]:
        raise RuntimeError(f"bmm: batch sizes differ: shapes {tuple(input.shape)} and "
                           f"{tuple(mat2.shape)}")
    return matmul(input, mat2)


def dot(input, other):
    """Inner product of two vectors of the same length."""
    _check("dot", (input, other), 1)
    return matmul(input, other)


def outer(input, vec2):
    """Outer product of two vectors: ``out[i, j] = input[i] * vec2[j]``."""
    _check("outer", (input, vec2), 1)
    return mul(reshape(input, (-1, 1)), reshape(vec2, (1, -1)))


def t(input):
    """A matrix transposed; vectors and scalars come back as they are."""
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but got shape "
                           f"{tuple(input.shape)}: use transpose(dim0, dim1)")
    return transpose(input, (1, 0)) if input.ndim == 2 else input
