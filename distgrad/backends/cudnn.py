"""``distgrad.backends.cudnn``: cuDNN's switches, kept so that scripts which set them run.

distgrad never calls cuDNN (convolutions are im2col matrix products on NumPy or CuPy), so
assigning ``enabled``, ``benchmark``, ``deterministic`` or ``allow_tf32`` has no effect on what
runs; the values are stored and read back as assigned.
"""
enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available():
    """False: distgrad does not use cuDNN, whatever the machine has."""
    return False


def version():
    """None: no cuDNN library is loaded by distgrad."""
    return None
