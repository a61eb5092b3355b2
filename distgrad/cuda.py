"""``distgrad.cuda``: whether GPUs are usable, as PyTorch's ``torch.cuda`` answers it."""
from . import backend


def is_available():
    """True when CuPy is installed and sees at least one GPU."""
    return backend.cuda_is_available()


def device_count():
    """Number of visible GPUs (honours ``CUDA_VISIBLE_DEVICES``)."""
    return backend.cuda_device_count()
