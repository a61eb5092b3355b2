"""``distgrad.accelerator``: the device-neutral guard lines of ``torch.accelerator``. distgrad's
one accelerator kind is CUDA (through CuPy), so these answer for ``distgrad.cuda``.

>>> device = accelerator.current_accelerator() if accelerator.is_available() else device("cpu")
"""
from . import backend, cuda


def is_available():
    """True when a GPU is visible (``distgrad.cuda.is_available()``)."""
    return cuda.is_available()


def current_accelerator(check_available=False):
    """``device("cuda")`` when a GPU is visible, else None, as in PyTorch (``check_available``
    is accepted for PyTorch's signature: distgrad answers None in both cases)."""
    return backend.device("cuda") if cuda.is_available() else None


def device_count():
    """Number of visible GPUs (0 without one)."""
    return cuda.device_count()


def current_device_index():
    """Index of this thread's current GPU."""
    return cuda.current_device()


def set_device_index(device):
    """Make GPU ``device`` (an int or ``"cuda:N"``) current for this thread."""
    cuda.set_device(device)


def synchronize(device=None):
    """Wait until all queued work on the GPU has finished (a no-op without one)."""
    cuda.synchronize(device)
