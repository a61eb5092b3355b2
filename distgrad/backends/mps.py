"""``distgrad.backends.mps``: Apple's Metal backend, which distgrad does not have."""


def is_available():
    """False: distgrad runs on NumPy (CPU) and CuPy (NVIDIA GPUs), never on Apple's MPS."""
    return False


def is_built():
    """False: distgrad has no MPS backend to build."""
    return False
