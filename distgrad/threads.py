"""``set_num_threads``/``get_num_threads``: how many threads distgrad's math runs on, which is
the thread count of the BLAS library under NumPy (matrix products and convolutions)."""
import os
import warnings

try:  # threadpoolctl changes a loaded BLAS library's thread count; without it the count is fixed
    import threadpoolctl
except ImportError:  # pragma: no cover - depends on the environment
    threadpoolctl = None

_requested = None
_warned = False


def _startup_threads():
    """The count a BLAS library picks when it loads: the first thread variable set, else the
    CPUs this process may run on."""
    for name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def get_num_threads():
    """The number of threads the BLAS library uses (what ``set_num_threads`` last set)."""
    if threadpoolctl is not None:
        counts = [lib["num_threads"] for lib in threadpoolctl.threadpool_info()
                  if lib.get("user_api") == "blas"]
        if counts:
            return max(counts)
    return _requested if _requested is not None else _startup_threads()


def set_num_threads(n):
    """Use ``n`` threads for matrix math from now on, as ``torch.set_num_threads``.

    With ``threadpoolctl`` installed this sets the thread count of the BLAS and OpenMP
    libraries NumPy loaded. Without it, the count was fixed when NumPy loaded (by
    ``OMP_NUM_THREADS``/``OPENBLAS_NUM_THREADS``): ``n`` is only recorded for
    ``get_num_threads`` and a warning says so once.
    """
    global _requested, _warned
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise RuntimeError(f"set_num_threads({n!r}): the number of threads must be a positive int")
    _requested = n
    if threadpoolctl is not None:
        threadpoolctl.threadpool_limits(limits=n)
    elif not _warned:
        _warned = True
        warnings.warn(f"set_num_threads({n}) cannot change the BLAS library's threads without "
                      "threadpoolctl: pip install threadpoolctl, or set OMP_NUM_THREADS before "
                      "Python starts", RuntimeWarning, stacklevel=2)
