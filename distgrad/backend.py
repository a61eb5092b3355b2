"""Which array module holds the numbers (NumPy always, CuPy when importable), devices, dtypes, RNG.

Every op asks ``get_array_module(x)`` for ``xp`` and writes one body for both libraries; this is
the only file in distgrad that imports CuPy.
"""
import contextlib
import os

import numpy

try:  # CuPy is optional: its absence (or a machine without a driver) is a normal state.
    import cupy
    import cupyx  # noqa: F401  (scatter_add and friends live there)
except Exception:  # pragma: no cover - depends on the machine
    cupy = None

from .dtypes import bool_, float16, float32, float64, get_default_dtype, int32, int64  # noqa: F401


def get_array_module(x):
    """Return ``numpy`` or ``cupy``: the module that owns array (or Tensor) ``x``.

    >>> get_array_module(numpy.zeros(3)) is numpy
    True
    """
    if cupy is not None:
        if isinstance(x, cupy.ndarray) or isinstance(getattr(x, "array", None), cupy.ndarray):
            return cupy
    return numpy


def cuda_is_available():
    """True when CuPy imports and sees at least one GPU."""
    return cuda_device_count() > 0


def cuda_device_count():
    """Number of GPUs CuPy can see (0 without CuPy or without a driver)."""
    if cupy is None:
        return 0
    try:
        return cupy.cuda.runtime.getDeviceCount()
    except Exception:
        return 0


def parse_device(spec):
    """The ``device`` that ``spec`` names — None or ``"cpu"``, ``"cuda"`` (the current GPU),
    ``"cuda:N"``, a ``device``, or a GPU number — as ``device("cpu")`` or ``device("cuda:N")``,
    checked against the GPUs CuPy sees. The one place distgrad reads device strings.
    """
    if spec is None:
        return _CPU
    try:
        found = device(f"cuda:{spec}" if isinstance(spec, int) else str(spec))
    except RuntimeError:
        raise ValueError(f"unknown device {str(spec)!r}: expected 'cpu', 'cuda' or 'cuda:N'") from None
    if found.type == "cpu":
        return _CPU
    if found.index is None:
        if cupy is None:
            raise RuntimeError("device 'cuda' requested but CuPy is not installed; "
                               "install distgrad[cuda12] or distgrad[cuda13], or use device='cpu'")
        return device("cuda", cupy.cuda.runtime.getDevice())
    count = cuda_device_count()
    if found.index >= count:
        raise RuntimeError(f"device {str(found)!r} requested but {count} GPU(s) are visible "
                           "(check CUDA_VISIBLE_DEVICES, or use device='cpu')")
    return found


def on_device(spec):
    """Context under which CuPy allocates and launches on ``spec``'s GPU (nothing for the CPU
    or None)."""
    if spec is None:
        return contextlib.nullcontext()
    found = parse_device(spec)
    return contextlib.nullcontext() if found.type == "cpu" else cupy.cuda.Device(found.index)


class device(str):
    """Where a tensor lives, as PyTorch's ``torch.device``: ``device("cuda", 1)``,
    ``device("cuda:1")`` or ``device("cpu")``, with ``.type`` and ``.index``.

    It is the string ``"cpu"`` / ``"cuda"`` / ``"cuda:N"`` too, so it compares equal to those
    strings and goes wherever a device string goes.

    >>> device("cuda", 1) == "cuda:1", device("cpu").type
    (True, 'cpu')
    """

    def __new__(cls, type, index=None):
        if isinstance(type, device) and index is None:
            return type
        text = str(type)
        if index is None and ":" in text:
            text, _, number = text.partition(":")
            if not number.isdigit():
                raise RuntimeError(f"invalid device string {type!r}: expected 'cpu', 'cuda' or 'cuda:N'")
            index = int(number)
        if text not in ("cpu", "cuda"):
            raise RuntimeError(f"unknown device type {text!r}: distgrad runs on 'cpu' and 'cuda' "
                               "(NumPy and CuPy arrays)")
        if index is not None and (not isinstance(index, int) or index < 0):
            raise RuntimeError(f"device index must be a non-negative int, got {index!r}")
        self = super().__new__(cls, text if index is None else f"{text}:{index}")
        self._type, self._index = text, index
        return self

    type = property(lambda self: self._type, doc='"cpu" or "cuda".')
    index = property(lambda self: self._index, doc="The GPU number, or None.")

    def __repr__(self):
        index = "" if self._index is None else f", index={self._index}"
        return f"device(type='{self._type}'{index})"

    def __eq__(self, other):
        if isinstance(other, str):
            return str.__eq__(self, other)
        return NotImplemented

    __hash__ = str.__hash__


_CPU = device("cpu")
_CUDA = {}


def device_of(array):
    """``device("cpu")`` for a NumPy array, ``device("cuda:N")`` for a CuPy array on GPU N."""
    if cupy is not None and isinstance(array, cupy.ndarray):
        index = array.device.id
        found = _CUDA.get(index)
        if found is None:
            found = _CUDA[index] = device("cuda", index)
        return found
    return _CPU


def device_and_dtype(device, dtype):
    """Split ``to()``'s arguments: a dtype may stand in the device's place (``t.to(float64)``),
    as in PyTorch."""
    if device is not None and not isinstance(device, str):
        try:
            return None, numpy.dtype(device)
        except TypeError:
            pass
    return device, dtype


def array_module_for(device):
    """The array module that serves ``device``."""
    return numpy if parse_device(device) == "cpu" else cupy


def to_device(array, device):
    """Return ``array`` on ``device`` (the same object when it is already there)."""
    device = parse_device(device)
    if device == "cpu":
        if cupy is not None and isinstance(array, cupy.ndarray):
            return cupy.asnumpy(array)
        return numpy.asarray(array)
    index = device.index
    with cupy.cuda.Device(index):
        if isinstance(array, cupy.ndarray) and array.device.id != index:
            # cupy.asarray would hand back the array on its old GPU; copy() reads across GPUs.
            return array.copy()
        return cupy.asarray(array)


def device_index(device):
    """The GPU number N of ``"cuda:N"`` (``"cuda"`` means the current GPU); None for the CPU."""
    return parse_device(device).index


def set_device(device):
    """Make ``device`` ("cuda:N", "cuda" or "cpu") the current GPU of the calling thread and
    return it normalised.

    Call it before any CUDA work of a rank: CuPy allocates, launches kernels and creates NCCL
    communicators on the current GPU, and a thread starts on GPU 0. GPU numbers count only the
    GPUs ``CUDA_VISIBLE_DEVICES`` lists (so with ``CUDA_VISIBLE_DEVICES=3`` the one GPU is
    ``cuda:0``). ``"cpu"`` changes nothing.
    """
    device = parse_device(device)
    if device != "cpu":
        cupy.cuda.Device(device.index).use()
    return device


def current_device():
    """Index of the calling thread's current GPU (0 when none was chosen)."""
    if cupy is None:
        raise RuntimeError("current_device() needs CuPy and a GPU; install distgrad[cuda12] "
                           "or distgrad[cuda13]")
    return cupy.cuda.runtime.getDevice()


def synchronize(device=None):
    """Block until every kernel and copy queued on ``device`` (default: the current GPU) has
    finished; a no-op without CuPy or for ``"cpu"``."""
    if cupy is None or (device is not None and parse_device(device) == "cpu"):
        return
    if device is None:
        cupy.cuda.Device().synchronize()
    else:
        cupy.cuda.Device(device_index(device)).synchronize()


def nccl():
    """CuPy's NCCL binding (``cupy.cuda.nccl``) when CuPy and the NCCL library both load,
    else None (CuPy imports the module even when libnccl is missing, so ``available`` decides)."""
    if cupy is None:
        return None
    try:
        from cupy.cuda import nccl as module
    except Exception:  # pragma: no cover - depends on the machine
        return None
    return module if getattr(module, "available", False) else None


def to_numpy(array):
    """A host (NumPy) copy or view of ``array``."""
    if cupy is not None and isinstance(array, cupy.ndarray):
        return cupy.asnumpy(array)
    return numpy.asarray(array)


# --- random numbers -------------------------------------------------------------------------
# One generator per device, all derived from one seed, so manual_seed makes init, dropout and
# shuffling reproducible on CPU and GPU alike. A GPU's own seed (cuda.manual_seed) overrides.
_seed = 0
_device_seeds = {}
_generators = {}
_UINT64 = 1 << 64


def _check_seed(seed):
    seed = int(seed)
    if not -(1 << 63) <= seed < _UINT64:
        raise RuntimeError(f"manual_seed({seed}): the seed must be in [-2**63, 2**64 - 1]")
    return seed % _UINT64  # negative seeds wrap to unsigned, as PyTorch's do


def manual_seed(seed):
    """Seed every random number generator distgrad uses (CPU and each GPU); returns the CPU
    generator (a ``numpy.random.Generator``)."""
    global _seed
    _seed = _check_seed(seed)
    _device_seeds.clear()
    _generators.clear()
    return default_generator("cpu")


def manual_seed_device(seed, device):
    """Seed only ``device``'s generator (``"cuda:N"``), as ``torch.cuda.manual_seed``."""
    device = parse_device(device)
    _device_seeds[device] = _check_seed(seed)
    _generators.pop(device, None)


def seed():
    """Seed every generator from the operating system's entropy and return that seed."""
    fresh = int.from_bytes(os.urandom(8), "little")
    manual_seed(fresh)
    return fresh


def initial_seed():
    """The seed distgrad's generators were last started from (``manual_seed`` or ``seed``)."""
    return _seed


def default_generator(device="cpu"):
    """The generator for ``device``: ``numpy.random.Generator`` on the CPU, CuPy's on a GPU."""
    device = parse_device(device)
    gen = _generators.get(device)
    if gen is None:
        if device == "cpu":
            gen = numpy.random.default_rng(_seed)
        else:
            index = device.index
            with cupy.cuda.Device(index):
                gen = cupy.random.default_rng(_device_seeds.get(device, (_seed + 1 + index) % _UINT64))
        _generators[device] = gen
    return gen


def get_rng_state():
    """The CPU generator's state as a JSON-compatible dict (for checkpoints)."""
    return {"seed": _seed, "cpu": default_generator("cpu").bit_generator.state}


def set_rng_state(state):
    """Restore what ``get_rng_state`` returned."""
    manual_seed(state["seed"])
    default_generator("cpu").bit_generator.state = state["cpu"]


def index_add(target, index, values):
    """``target[index] += values`` with repeated indices accumulated (NumPy's ``add.at``;
    ``cupyx.scatter_add`` on the GPU)."""
    if cupy is not None and isinstance(target, cupy.ndarray):
        cupyx.scatter_add(target, index, values)
    else:
        numpy.add.at(target, index, values)
