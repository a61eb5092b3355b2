"""How much of everyday PyTorch behaves the same in distgrad: a table of idioms, each run twice.

Every idiom in ``tests/idioms/`` is a small function written once, in PyTorch's words; its
parameters name the modules it uses (``torch``, ``nn``, ``F``, ``optim``, ``data``, ``datasets``,
``transforms``, ``dist``, ``DDP``). It runs once with PyTorch's modules and once with distgrad's
(the rename in ``NAMESPACES``), on the same input numbers, and the two results are compared:

- Tensors: dtype, shape, ``requires_grad`` and values (``allclose`` at the dtype's tolerance;
  integers and booleans exactly). A ``.grad`` is compared like any other Tensor.
- Python values: the exact type (``int`` vs ``float`` vs ``bool`` vs a NumPy scalar), then the
  value; tuples vs lists; named tuples by their fields (``.values``/``.indices``); dicts by keys
  in order; dtypes by name; devices by ``(type, index)``; other objects by class name.
- Idioms marked ``raises=True`` must raise in PyTorch; distgrad must raise the same class (the
  first non-PyTorch class of PyTorch's exception, e.g. ``RuntimeError``, or a subclass of it).

Random draws differ between the libraries, so idioms never compare them: they compare shapes,
statistics or properties of draws instead. Run ``python tests/compat_idioms.py`` for the score
(``-k WORD`` to select idioms, ``-q`` to list only the totals).
"""
import argparse
import importlib
import os
import re
import signal
import socket
import sys
import threading
import warnings
from collections import defaultdict
from dataclasses import dataclass

import numpy

# Run as a script, import this checkout's distgrad and the idiom table beside this file.
_TESTS = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(_TESTS), _TESTS]
from idioms import IDIOMS  # noqa: E402

# Each name an idiom may take as a parameter, and what it is in each library.
NAMESPACES = {
    "torch": {
        "torch": "torch", "nn": "torch.nn", "F": "torch.nn.functional", "optim": "torch.optim",
        "data": "torch.utils.data", "datasets": "torchvision.datasets",
        "transforms": "torchvision.transforms", "dist": "torch.distributed",
        "DDP": "torch.nn.parallel.DistributedDataParallel",
    },
    "distgrad": {
        "torch": "distgrad", "nn": "distgrad.nn", "F": "distgrad.nn.functional",
        "optim": "distgrad.optim", "data": "distgrad.data", "datasets": "distgrad.data.datasets",
        "transforms": "distgrad.data.transforms", "dist": "distgrad.distributed",
        "DDP": "distgrad.distributed.DistributedDataParallel",
    },
}

# (rtol, atol) by dtype name; Python floats get float32's, as most come from float32 .item().
TOLERANCES = {"float16": (1e-2, 1e-3), "float32": (1e-4, 1e-5), "float64": (1e-7, 1e-9)}
TIMEOUT_S = 60


def resolve(path):
    """The object a dotted path names, importing the longest module prefix it starts with."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            if cut == 1:
                raise
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj


@dataclass
class Raised:
    """An idiom that raised instead of returning."""
    error: BaseException

    def __str__(self):
        message = str(self.error).strip().splitlines()
        return f"{type(self.error).__name__}: {message[0] if message else ''}"[:200]


@dataclass
class Outcome:
    """What checking one idiom found: ``match``, ``differs``, ``skipped`` or ``broken`` (the
    idiom itself is wrong: it fails in PyTorch)."""
    idiom: object
    status: str
    reason: str = ""


class _Timeout(Exception):
    pass


def run(idiom, library):
    """The idiom's result in ``library`` ("torch" or "distgrad"), or ``Raised``."""
    try:
        modules = {name: resolve(NAMESPACES[library][name]) for name in idiom.params}
    except ImportError as error:
        if library == "torch":
            raise  # the reference is missing: check() reports a skip
        return Raised(error)
    except Exception as error:
        return Raised(error)
    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(_free_port())
    try:
        with warnings.catch_warnings(), _time_limit(TIMEOUT_S):
            warnings.simplefilter("ignore")
            return idiom.fn(**modules)
    except Exception as error:
        return Raised(error)
    finally:
        _reset(library)


def check(idiom):
    """Run ``idiom`` in both libraries and say whether distgrad behaves as PyTorch does."""
    try:
        ref = run(idiom, "torch")
    except ImportError as error:
        return Outcome(idiom, "skipped", f"no reference: {error}")
    got = run(idiom, "distgrad")
    if idiom.raises:
        if not isinstance(ref, Raised):
            return Outcome(idiom, "broken", "PyTorch did not raise")
        expected = _public_class(ref.error)
        if not isinstance(got, Raised):
            return Outcome(idiom, "differs",
                           f"PyTorch raises {expected.__name__}, distgrad does not")
        if not isinstance(got.error, expected):
            return Outcome(idiom, "differs", f"PyTorch raises {expected.__name__}, distgrad {got}")
        return Outcome(idiom, "match")
    if isinstance(ref, Raised):
        return Outcome(idiom, "broken", f"PyTorch raised {ref}")
    if isinstance(got, Raised):
        return Outcome(idiom, "differs", f"raised {got}")
    try:
        reason = difference(ref, got)
    except Exception as error:  # e.g. a result without the attributes a Tensor has
        reason = f"result cannot be compared: {Raised(error)}"
    return Outcome(idiom, "differs" if reason else "match", reason or "")


def difference(ref, got, ref_lib="torch", got_lib="distgrad", where="result"):
    """Why ``got`` (from ``got_lib``) does not stand for ``ref`` (from ``ref_lib``), or None."""
    ref_kind, got_kind = kind(ref, resolve(ref_lib)), kind(got, resolve(got_lib))
    if ref_kind != got_kind:
        return f"{where}: PyTorch gives {ref_kind}, distgrad {got_kind}"
    if ref_kind in ("Tensor", "ndarray"):
        return _array_difference(ref, got, ref_kind == "Tensor", where)
    if ref_kind in ("tuple", "list") or ref_kind.startswith("named tuple"):
        if len(ref) != len(got):
            return f"{where}: PyTorch gives {len(ref)} items, distgrad {len(got)}"
        names = getattr(type(ref), "__match_args__", None) or range(len(ref))
        for name, r, g in zip(names, ref, got):
            label = f"{where}.{name}" if isinstance(name, str) else f"{where}[{name}]"
            reason = difference(r, g, ref_lib, got_lib, label)
            if reason:
                return reason
        return None
    if ref_kind == "dict":
        if list(ref) != list(got):
            return f"{where}: keys {list(ref)} in PyTorch, {list(got)} in distgrad"
        for key in ref:
            reason = difference(ref[key], got[key], ref_lib, got_lib, f"{where}[{key!r}]")
            if reason:
                return reason
        return None
    if ref_kind == "dtype":
        ref, got = _dtype_name(ref), _dtype_name(got)
    elif ref_kind == "device":
        ref, got = (ref.type, ref.index), (got.type, got.index)
    elif ref_kind == "float":
        if numpy.isclose(ref, got, *TOLERANCES["float32"], equal_nan=True):
            return None
    elif ref_kind not in ("int", "bool", "str", "None"):
        return None  # other objects: the class name is all that is compared
    return None if ref == got else f"{where}: PyTorch gives {ref!r}, distgrad {got!r}"


def kind(value, lib):
    """A library-neutral name for what ``value`` is: "Tensor", "float", "named tuple (values,
    indices)", "dtype", ..."""
    if isinstance(value, lib.Tensor):
        return "Tensor"
    if isinstance(value, numpy.ndarray):
        return "ndarray"
    if _dtype_name(value) is not None:
        return "dtype"
    if type(value).__name__ == "device" and hasattr(value, "type"):
        return "device"
    if isinstance(value, numpy.generic):
        return f"numpy.{type(value).__name__}"  # e.g. .item() giving numpy.float64, not float
    if value is None:
        return "None"
    for base in (bool, int, float, str, dict, list):
        if isinstance(value, base):
            return base.__name__
    if isinstance(value, tuple):
        fields = getattr(type(value), "__match_args__", None)  # namedtuple and torch.return_types
        return f"named tuple ({', '.join(fields)})" if fields else "tuple"
    return type(value).__name__


def _array_difference(ref, got, is_tensor, where):
    if is_tensor:
        if ref.requires_grad != got.requires_grad:
            return (f"{where}.requires_grad: PyTorch {ref.requires_grad}, "
                    f"distgrad {got.requires_grad}")
        ref, got = ref.detach().cpu().numpy(), got.detach().cpu().numpy()
    if ref.dtype != got.dtype:
        return f"{where}.dtype: PyTorch {ref.dtype}, distgrad {got.dtype}"
    if ref.shape != got.shape:
        return f"{where}.shape: PyTorch {ref.shape}, distgrad {got.shape}"
    if ref.dtype.kind in "fc":
        rtol, atol = TOLERANCES.get(ref.dtype.name, TOLERANCES["float32"])
        if numpy.allclose(got, ref, rtol=rtol, atol=atol, equal_nan=True):
            return None
        worst = numpy.nanmax(numpy.abs(got.astype(numpy.float64) - ref)) if ref.size else 0
        return f"{where}: values differ (max abs diff {worst:.3g})"
    if numpy.array_equal(ref, got):
        return None
    return f"{where}: values differ ({_short(ref)} in PyTorch, {_short(got)} in distgrad)"


def _short(array):
    text = numpy.array2string(array, threshold=8, edgeitems=3)
    return text if len(text) < 60 else text[:57] + "..."


def _dtype_name(value):
    """"float32" for torch.float32, numpy.float32 or numpy.dtype("float32"); None for others."""
    if isinstance(value, numpy.dtype):
        return value.name
    if isinstance(value, type) and issubclass(value, numpy.generic):
        return numpy.dtype(value).name
    if type(value).__name__ == "dtype":  # torch.dtype, or a library's own dtype class
        return str(value).rsplit(".", 1)[-1]
    return None


def _public_class(error):
    """The first class of ``error`` that PyTorch does not define, e.g. IndexError, ValueError."""
    for cls in type(error).__mro__:
        if not cls.__module__.startswith("torch"):
            return cls
    return Exception


def _reset(library):
    """Undo global state an idiom may leave behind when it fails half-way."""
    lib = resolve(NAMESPACES[library]["torch"])
    defaults = (("set_grad_enabled", True), ("set_default_dtype", getattr(lib, "float32", None)))
    for name, arg in defaults:
        try:
            getattr(lib, name)(arg)
        except Exception:  # an API missing here is measured by the idioms, not by the harness
            pass
    try:
        dist = resolve(NAMESPACES[library]["dist"])
        if dist.is_initialized():
            dist.destroy_process_group()
    except Exception:
        pass


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _time_limit:
    """Raise _Timeout in the main thread after ``seconds`` (no limit elsewhere)."""
    def __init__(self, seconds):
        self.seconds = seconds if threading.current_thread() is threading.main_thread() else 0

    def __enter__(self):
        if self.seconds:
            signal.signal(signal.SIGALRM, self._expire)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def __exit__(self, *exc):
        if self.seconds:
            signal.setitimer(signal.ITIMER_REAL, 0)

    def _expire(self, *_):
        raise _Timeout(f"took longer than {self.seconds} s")


def _cause(reason):
    """A failure's reason without the details that differ between idioms of one cause."""
    return re.sub(r" \(.*\)$", "", reason)


def _percent(n, m):
    return f"{100 * n / m:.0f}%" if m else "n/a"


def report(outcomes, verbose=True, out=sys.stdout):
    """Print the score per category and in total, then the failing idioms grouped by cause."""
    by_category = defaultdict(list)
    for outcome in outcomes:
        by_category[outcome.idiom.category].append(outcome)
    for category, items in by_category.items():
        counted = [o for o in items if o.status != "skipped"]
        matched = sum(o.status == "match" for o in counted)
        print(f"{category}: {matched} of {len(counted)} idioms match PyTorch "
              f"({_percent(matched, len(counted))})", file=out)
        for o in items:
            if verbose and o.status != "match":
                print(f"    {o.status:8s} {o.idiom.name}: {o.reason}", file=out)
    counted = [o for o in outcomes if o.status != "skipped"]
    matched = sum(o.status == "match" for o in counted)
    skipped = len(outcomes) - len(counted)
    print(f"\nTotal: {matched} of {len(counted)} idioms match PyTorch "
          f"({_percent(matched, len(counted))})" + (f"; {skipped} skipped" if skipped else ""),
          file=out)
    broken = [o for o in outcomes if o.status == "broken"]
    if broken:
        print(f"{len(broken)} idioms fail in PyTorch itself (fix the idiom): "
              + ", ".join(o.idiom.name for o in broken), file=out)
    if verbose:
        causes = defaultdict(list)
        for o in outcomes:
            if o.status == "differs":
                causes[_cause(o.reason)].append(o.idiom.name)
        print("\nFailing idioms by cause:", file=out)
        for cause, names in sorted(causes.items(), key=lambda item: -len(item[1])):
            print(f"  [{len(names)}] {cause}\n        {', '.join(names)}", file=out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", dest="select",
                        help="run only idioms whose name or category contains this")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the scores")
    args = parser.parse_args(argv)
    chosen = [i for i in IDIOMS
              if not args.select or args.select.lower() in f"{i.category} {i.name}".lower()]
    report([check(i) for i in chosen], verbose=not args.quiet)


if __name__ == "__main__":
    main()
