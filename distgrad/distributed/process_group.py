"""The default process group: which backend, this rank's place in the job, and the collectives.

``init_process_group("auto")`` reads the launcher's environment (never importing mpi4py to do
so), builds a communicator, and for world size > 1 installs the abort hooks and the watchdog.
Given a GPU device it also binds this rank to its GPU and, where NCCL loads, picks it.
"""
import os
import warnings

from .. import backend as _array_backend
from .abort import install_abort_hooks, uninstall_abort_hooks
from .communicators import MpiCommunicator, NcclCommunicator, SingleCommunicator, mpi_for_gpu
from ..launcher import detect_launcher
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
    try:
        found = _array_backend.device(str(device))
    except RuntimeError:
        found = None
    if found is not None and found.type == "cuda":
        return str(found)
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


# PyTorch's backend names, and what each stands for here.
_PYTORCH_BACKENDS = {"gloo": "cpu", "nccl": "gpu", "mpi": "mpi", "ucc": "cpu"}


def _map_backend(backend, kind, launched, nccl_available):
    """distgrad's backend for ``init_process_group(backend)``: ``None``/``"auto"`` choose;
    ``"gloo"`` is MPI on the CPU (one process without a launcher); ``"nccl"`` is NCCL where
    CuPy's NCCL and a GPU are present, else the same as ``"gloo"`` with a warning;
    ``"cpu:gloo,cuda:nccl"`` picks its GPU part when NCCL is there."""
    if backend is None:
        return "auto"
    name = str(backend).lower()
    if "," in name or ":" in name:
        parts = dict(part.split(":", 1) for part in name.split(",") if ":" in part)
        name = parts.get("cuda") if "cuda" in parts and nccl_available else parts.get("cpu", "gloo")
    meaning = _PYTORCH_BACKENDS.get(name)
    if meaning == "cpu":
        return "mpi" if launched else "single"
    if meaning == "gpu":
        if nccl_available:
            return "nccl"
        warnings.warn("init_process_group('nccl'): NCCL needs CuPy's NCCL and a GPU, which this "
                      "machine lacks; using MPI on the CPU instead (as 'gloo')", stacklevel=3)
        return "mpi" if launched else "single"
    return name


def _check_claims(comm, world_size, rank):
    """A ``world_size``/``rank`` the caller passed must agree with the launcher's; every rank
    learns of any disagreement (one gather), so all of them raise and none hangs."""
    claims = (int(world_size), int(rank))
    everyone = comm.allgather_obj(claims) if comm.size > 1 else [claims]
    problems = []
    for actual, (size, claimed) in enumerate(everyone):
        if size not in (-1, comm.size):
            problems.append(f"rank {actual} passed world_size={size}")
        if claimed not in (-1, actual):
            problems.append(f"rank {actual} passed rank={claimed}")
    if problems:
        launched = detect_launcher() or "no launcher (a single process)"
        raise ValueError(f"init_process_group: {'; '.join(problems)}, but {launched} started "
                         f"{comm.size} process(es) and numbered them 0..{comm.size - 1}. Start "
                         f"the job with the size you want (mpiexec -n N, distgrad run "
                         f"--nproc-per-node N, or distgrad.multiprocessing.spawn), or leave "
                         f"world_size and rank out: the launcher decides them")


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1,
                       store=None, group_name="", pg_options=None, device_id=None, *,
                       abort_on_exception=None, device=None):
    """Initialise the default process group (PyTorch's signature).

    The processes and their ranks come from the launcher that started them — ``mpiexec``,
    ``srun``, ``distgrad run`` or ``distgrad.multiprocessing.spawn`` — as MPI numbers them;
    without one the world is this process alone. ``init_method`` and ``store`` (PyTorch's
    rendezvous) are not needed for that and are ignored; ``world_size`` and ``rank``, when
    given, are checked against the launcher's and a disagreement is an error on every rank.

    Args:
        backend: ``None``/``"auto"`` (MPI under a launcher, else one process; NCCL for a GPU
            device when available), ``"mpi"`` (mpi4py, also at world size 1), ``"single"`` (one
            process, no MPI), or PyTorch's names: ``"gloo"`` (MPI on the CPU), ``"nccl"``
            (NCCL on the GPU; on a machine without NCCL and a GPU, MPI on the CPU with a
            warning), ``"cpu:gloo,cuda:nccl"``.
        timeout: watchdog seconds (or a ``timedelta``); default DISTGRAD_WATCHDOG_TIMEOUT or
            600; 0 disables. A rank waiting longer than this in a collective aborts the job.
        world_size, rank: what the caller expects (-1: whatever the launcher says).
        device_id: PyTorch's device binding; the same as ``device``.
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
    >>> dist.init_process_group("gloo")          # doctest: +SKIP
    >>> dist.get_rank(), dist.get_world_size()   # doctest: +SKIP
    (0, 1)
    """
    global _group, _backend, _device, _watchdog
    if _group is not None:
        raise RuntimeError(f"init_process_group() was already called (backend={_backend!r}); "
                           "call destroy_process_group() first to initialise it again")
    if device is None and device_id is not None:
        device = str(device_id) if not isinstance(device_id, int) else f"cuda:{device_id}"
    kind = _device_kind(device)
    nccl_available = _nccl_available()
    launched = detect_launcher() is not None
    backend = select_backend(_map_backend(backend, kind, launched, nccl_available), kind,
                             launched, nccl_available)
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
                         f"{', '.join(available_backends())} (and PyTorch's 'gloo', 'nccl', 'mpi')")
    _check_claims(comm, world_size, rank)
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


def get_rank(group=None):
    """This process's rank in the default group (0 … world size − 1)."""
    return _default().rank


def get_world_size(group=None):
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


def is_available():
    """True: distributed training is always available (one process without a launcher)."""
    return True
