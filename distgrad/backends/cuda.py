"""``distgrad.backends.cuda``: CUDA switches that scripts set, such as
``distgrad.backends.cuda.matmul.allow_tf32 = True``.

They are stored and read back, with no effect: CuPy's matrix products follow CuPy's own
settings (e.g. the ``CUPY_TF32`` environment variable, read when CuPy starts).
"""
from .. import backend


class _MatmulFlags:
    """The ``matmul`` namespace: ``allow_tf32``, ``allow_fp16_reduced_precision_reduction``,
    ``allow_bf16_reduced_precision_reduction`` (stored, no effect)."""

    def __init__(self):
        self.allow_tf32 = False
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True


matmul = _MatmulFlags()


def is_built():
    """True when CuPy, distgrad's CUDA backend, is installed."""
    return backend.cupy is not None
