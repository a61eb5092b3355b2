"""The default process group: which backend, this rank's place in the job, and the collectives.

``init_process_group("auto")`` reads the launcher's environment (never importing mpi4py to do
so), builds a communicator, and for world size > 1 installs the abort hooks and the watchdog.
Given a GPU device it also binds this rank to its GPU and, where NCCL loads, picks it.
"""
import os

from .. import backend as _array_backend
from ..autograd import Tensor
from .abort import install_abort_hooks, uninstall_abort_hooks
from .communicators import MpiCommunicator, NcclCommunicator, SingleCommunicator, mpi_for_gpu
from .launcher import detect_launcher
from .watchdog import Watchdog, resolve_timeout

BACKENDS = ("auto", "mpi", "single")   # plus "nccl" where CuPy's NCCL loads

_group = None     # the default communicator once initialised
_backend = None
_device = "cpu"
_watchdog = None


def _nccl_available():
    return _array_backend.nccl() is not None and _array_backend.cuda_device_count() > 0


def available_backends():
    """The backends ``init_process_group`` can build on this machine."""
    return ("auto", "mpi", "nccl", "single") if _nccl_available() else BACKENDS


def select_backend(backend, device, launched, nccl_available):
    """What ``backend`` stands for: ``"auto"`` is ``"single"`` without a launcher and, under
    one, ``"nccl"`` for a GPU ``device`` when NCCL is available, else ``"mpi"``; any other
    name stands for itself.

    >>> select_backend("auto", "cuda", launched=True, nccl_available=True)
    'nccl'
    """
    if backend != "auto":
        return backend
    if not launched:
        return "single"
    return "nccl" if device != "cpu" and nccl_available else "mpi"


def _device_kind(device):
    """``"cpu"``, ``"cuda"`` or ``"cuda:N"`` for ``init_process_group(device=...)``."""
    if device is None or device == "cpu":
        return "cpu"
    if device == "auto":
        return "cuda" if _array_backend.cuda_device_count() > 0 else "cpu"
    device = str(device)
    if device == "cuda" or (device.startswith("cuda:") and device[5:].isdigit()):
        return device
    raise ValueError(f"init_process_group(device={device!r}): expected 'cpu', 'cuda', "
                     "'cuda:N' or 'auto'")


def _bind(kind, comm):
    """Resolve ``"cuda"`` to this rank's GPU, ``cuda:<local_rank % device_count>``, and make it
    current before any CUDA work; return the device."""
    if kind == "cpu":
        return "cpu"
    count = _array_backend.cuda_device_count()
    if count == 0:
        raise RuntimeError(f"device={kind!r}: no GPU is visible (is CuPy installed, e.g. pip "
                           "install 'distgrad[cuda12]', and CUDA_VISIBLE_DEVICES set?)")
    if kind == "cuda":
        kind = f"cuda:{comm.local_rank % count}"
    return _array_backend.set_device(kind)


def _resolve_abort(abort_on_exception):
    if abort_on_exception is not None:
        return bool(abort_on_exception)
    return os.environ.get("DISTGRAD_ABORT_ON_EXCEPTION", "1").strip().lower() not in (
        "0", "false", "no", "off")


def init_process_group(backend="auto", timeout=None, abort_on_exception=None, device=None):
    """Initialise the default process group.

    Args:
        backend: ``"auto"`` (MPI when started by mpiexec/mpirun/srun, else one process),
            ``"mpi"`` (mpi4py, also at world size 1) or ``"single"`` (one process, no MPI).
        timeout: watchdog seconds (or a ``timedelta``); default DISTGRAD_WATCHDOG_TIMEOUT or
            600; 0 disables. A rank waiting longer than this in a collective aborts the job.
        abort_on_exception: install except-hooks that abort every rank when one raises
            (default True, or DISTGRAD_ABORT_ON_EXCEPTION=0 to opt out). World size > 1 only.
        device: where this rank computes: None or ``"cpu"``; ``"cuda"`` for GPU
            ``local_rank % device_count`` (GPUs numbered among those ``CUDA_VISIBLE_DEVICES``
            lists), made current here; ``"cuda:N"``; or ``"auto"`` (a GPU when one is
            visible). With a GPU, ``"auto"`` picks ``"nccl"`` under a launcher when CuPy's NCCL
            loads, and ``"mpi"`` reduces GPU arrays through pinned host memory (or directly
            with a CUDA-aware MPI: ``DISTGRAD_CUDA_AWARE_MPI=1``). ``"nccl"`` implies
            ``device="cuda"``. ``get_device()`` tells the outcome.

    >>> import distgrad.distributed as dist
    >>> dist.init_process_group()          # doctest: +SKIP
    >>> dist.get_rank(), dist.get_world_size()   # doctest: +SKIP
    (0, 1)
    """
    global _group, _backend, _device, _watchdog
    if _group is not None:
        raise RuntimeError(f"init_process_group() was already called (backend={_backend!r}); "
                           "call destroy_process_group() first to initialise it again")
    kind = _device_kind(device)
    nccl_available = _nccl_available()
    backend = select_backend(backend, kind, detect_launcher() is not None, nccl_available)
    if backend == "single":
        comm = SingleCommunicator()
        bound = _bind(kind, comm)
    elif backend == "mpi":
        if kind == "cpu":
            comm = MpiCommunicator()
        else:
            comm = mpi_for_gpu()
        bound = _bind(kind, comm)
    elif backend == "nccl":
        if not nccl_available:
            raise ValueError("backend='nccl' needs CuPy with the NCCL library and a GPU (pip "
                             "install 'distgrad[cuda12]' nvidia-nccl-cu12); backends available "
                             f"here: {', '.join(available_backends())}")
        host = MpiCommunicator()
        bound = _bind("cuda" if kind == "cpu" else kind, host)
        comm = NcclCommunicator(host, bound)
    else:
        raise ValueError(f"unknown backend={backend!r}; supported backends: "
                         f"{', '.join(available_backends())}")
    seconds = resolve_timeout(timeout)
    if comm.size > 1:
        if _resolve_abort(abort_on_exception):
            install_abort_hooks(comm)
        if seconds > 0:
            _watchdog = Watchdog.for_communicator(comm, seconds)
    _group, _backend, _device = comm, backend, bound


def destroy_process_group():
    """Forget the default group, stop the watchdog and restore the except-hooks.

    MPI itself stays initialised (mpi4py finalises it at exit), so a later
    ``init_process_group`` in the same process works.
    """
    global _group, _backend, _device, _watchdog
    if _watchdog is not None:
        _watchdog.stop()
    uninstall_abort_hooks()
    close = getattr(_group, "close", None)
    if close is not None:
        close()
    _group = _backend = _watchdog = None
    _device = "cpu"


def is_initialized():
    """True between ``init_process_group`` and ``destroy_process_group``."""
    return _group is not None


def _default():
    if _group is None:
        raise RuntimeError("the default process group is not initialised: call "
                           "distgrad.distributed.init_process_group() first")
    return _group


def get_default_group():
    """The default communicator (a ``CommunicatorBase``)."""
    return _default()


def get_backend():
    """The backend chosen by ``init_process_group`` (``"mpi"``, ``"nccl"`` or ``"single"``)."""
    _default()
    return _backend


def get_device():
    """This rank's device as ``init_process_group(device=...)`` resolved it (``"cpu"`` or
    ``"cuda:N"``)."""
    _default()
    return _device


def get_watchdog():
    """The running ``Watchdog``, or None (world size 1, or timeout 0)."""
    return _watchdog


def get_rank():
    """This process's rank in the default group (0 … world size − 1)."""
    return _default().rank


def get_world_size():
    """Number of processes in the default group."""
    return _default().size


def get_local_rank():
    """This process's rank among the processes on its node (which GPU to use)."""
    return _default().local_rank


def get_local_world_size():
    """Number of processes of the default group on this node."""
    return _default().local_size


def _watched(what, fn, *args):
    token = _watchdog.begin(what) if _watchdog is not None else None
    try:
        return fn(*args)
    finally:
        if token is not None:
            _watchdog.end(token)


def _array(array):
    return array.array if isinstance(array, Tensor) else array


def barrier():
    """Block until every rank reaches the barrier."""
    _watched("barrier()", _default().barrier)


def all_reduce(array, op="sum"):
    """Reduce ``array`` (NumPy array or Tensor) over all ranks, in place.

    ``op`` is ``"sum"``, ``"prod"``, ``"max"``, ``"min"`` or ``"avg"`` (sum divided by the
    world size, for floating-point arrays).
    """
    comm, data = _default(), _array(array)
    if op == "avg":
        _watched("all_reduce(op='avg')", comm.allreduce, data, "sum")
        data /= comm.size
    else:
        _watched(f"all_reduce(op={op!r})", comm.allreduce, data, op)


def broadcast(array, src=0):
    """Overwrite ``array`` (NumPy array or Tensor) on every rank with rank ``src``'s, in place."""
    _watched(f"broadcast(src={src})", _default().bcast, _array(array), src)


def all_gather_object(obj):
    """Return the list of every rank's picklable ``obj``, indexed by rank."""
    return _watched("all_gather_object()", _default().allgather_obj, obj)


def broadcast_object(obj, src=0):
    """Return rank ``src``'s picklable ``obj`` on every rank."""
    return _watched(f"broadcast_object(src={src})", _default().bcast_obj, obj, src)
