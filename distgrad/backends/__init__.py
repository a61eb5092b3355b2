"""``distgrad.backends``: PyTorch's ``torch.backends`` switches that scripts set or ask about.

distgrad computes with NumPy on the CPU and CuPy on NVIDIA GPUs; it never calls cuDNN or
Apple's MPS, so ``mps`` reports itself absent and the ``cudnn``/``cuda`` flags are accepted and
kept, with no effect on what runs.
"""
from . import cuda, cudnn, mps

__all__ = ["cuda", "cudnn", "mps"]
