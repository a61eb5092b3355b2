"""``distgrad.cuda``: GPUs as PyTorch's ``torch.cuda`` presents them — availability, the current
device, synchronisation and memory figures — answered by CuPy through ``distgrad.backend``.

Device numbers count the GPUs that ``CUDA_VISIBLE_DEVICES`` lists, as in CUDA itself.
"""

from . import backend


def is_available():
    """True when CuPy is installed and sees at least one GPU."""
    return backend.cuda_is_available()


def device_count():
    """Number of visible GPUs (honours ``CUDA_VISIBLE_DEVICES``)."""
    return backend.cuda_device_count()


def set_device(device):
    """Make ``device`` (an int, ``"cuda:N"`` or ``"cuda"``) the current GPU of this thread.

    Every rank calls it before its first CUDA work (``init_process_group(device=...)`` does):
    arrays, kernels and NCCL communicators are created on the current GPU.

    >>> distgrad.cuda.set_device(0)          # doctest: +SKIP
    """
    return backend.set_device(f"cuda:{device}" if isinstance(device, int) else device)


def current_device():
    """Index of this thread's current GPU."""
    return backend.current_device()


def synchronize(device=None):
    """Wait until all queued work on ``device`` (default: the current GPU) has finished."""
    backend.synchronize(device)


def manual_seed(seed):
    """Seed the current GPU's generator; silently does nothing without a GPU, as in PyTorch."""
    if is_available():
        backend.manual_seed_device(seed, "cuda")


def manual_seed_all(seed):
    """Seed every GPU's generator; silently does nothing without a GPU, as in PyTorch."""
    for index in range(device_count()):
        backend.manual_seed_device(seed, f"cuda:{index}")


def get_device_name(device=None):
    """The GPU's product name, e.g. ``"NVIDIA H100 80GB HBM3"`` (default: the current GPU)."""
    if not is_available():
        raise RuntimeError("get_device_name() needs a GPU, and none is visible: check "
                           "distgrad.cuda.is_available() first")
    index = backend.current_device() if device is None else \
        device if isinstance(device, int) else backend.device_index(device)
    name = backend.cupy.cuda.runtime.getDeviceProperties(index)["name"]
    return name.decode() if isinstance(name, bytes) else name


def empty_cache():
    """Hand the memory pool's cached free blocks back to the driver (live arrays stay); does
    nothing without CuPy."""
    if backend.cupy is not None:
        _pool().free_all_blocks()


def _pool():
    if backend.cupy is None:
        raise RuntimeError("GPU memory figures need CuPy: install distgrad[cuda12] or "
                           "distgrad[cuda13]")
    return backend.cupy.get_default_memory_pool()


def memory_allocated(device=None):
    """Bytes held by live arrays on the current GPU (CuPy's default memory pool)."""
    with backend.on_device(device):
        return _pool().used_bytes()


def memory_reserved(device=None):
    """Bytes the memory pool holds on the current GPU: live arrays plus freed blocks it keeps
    for reuse."""
    with backend.on_device(device):
        return _pool().total_bytes()


def max_memory_allocated(device=None):
    """The most GPU memory held since the start or the last ``reset_peak_memory_stats()``.

    CuPy's pool keeps no peak counter, but it keeps every block it freed for reuse and hands
    memory back only when asked; so the bytes it holds are the peak of what was allocated,
    rounded up to its block sizes — an upper bound of PyTorch's figure for the same program.
    """
    return memory_reserved(device)


max_memory_reserved = max_memory_allocated


def reset_peak_memory_stats(device=None):
    """Start a new peak: hand the pool's cached free blocks back to the driver, so that from now
    on ``max_memory_allocated`` grows only with what is allocated."""
    with backend.on_device(device):
        _pool().free_all_blocks()



