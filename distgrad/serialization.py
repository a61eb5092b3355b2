"""``save`` and ``load``: model, optimiser and scheduler state (nested dicts, lists and tuples of
Tensors, arrays, numbers and strings) in a safetensors file, with no pickle unless asked for.

The file is a safetensors file: an 8-byte little-endian header length, a JSON header giving each
tensor's dtype, shape and byte range, then the raw bytes. Tensors are named by their path in the
saved object (``"model.fc.weight"``), so safetensors' readers see an ordinary state dict; the
nesting (dicts, lists, tuples, numbers, strings, which leaves are Tensors or arrays) is JSON in
the header's ``__metadata__``. Objects the format cannot hold are pickled into a byte tensor each,
which ``load`` unpickles only with ``weights_only=False``.
"""
import collections
import json
import math
import os
import pickle
import struct

import numpy

from . import backend
from .atomic import write_atomic
from .autograd import Tensor
from .nn import Parameter

_DTYPES = {"BOOL": "b1", "U8": "u1", "I8": "i1", "U16": "u2", "I16": "i2", "F16": "f2",
           "U32": "u4", "I32": "i4", "F32": "f4", "U64": "u8", "I64": "i8", "F64": "f8"}
_CODES = {kind: code for code, kind in _DTYPES.items()}
_TREE = "distgrad"  # the __metadata__ key holding the saved object's structure
_MAPPINGS = {"dict": dict, "OrderedDict": collections.OrderedDict, "Counter": collections.Counter}


def _code(dtype):
    """The safetensors dtype code of a NumPy dtype, or None when the format has none."""
    return _CODES.get(f"{dtype.kind}{dtype.itemsize}")


def _join(path, key):
    """The dotted name of ``key`` inside ``path``: state dict keys, as PyTorch writes them."""
    return f"{path}.{key}" if path else str(key)


class _Writer:
    """Turns an object into a JSON tree plus the named arrays the tree refers to."""

    def __init__(self, pickle_module, pickle_protocol):
        self.arrays = {}  # name -> host array, in the order met
        self._names = {}  # id(leaf) -> name, so a leaf met twice is stored once
        self._leaves = []  # keeps leaves alive so their ids stay unique while writing
        self._pickle = pickle_module, pickle_protocol

    def _name(self, path):
        name, n = path or "tensor", 1
        while name in self.arrays or name == "__metadata__":
            n += 1
            name = f"{path}#{n}"
        return name

    def _store(self, leaf, array, path):
        name = self._names.get(id(leaf))
        if name is None:
            name = self._name(path)
            host = backend.to_numpy(array)
            if not host.flags.c_contiguous:  # (ascontiguousarray would turn 0-d into 1-d)
                host = host.copy(order="C")
            self.arrays[name] = host.astype(host.dtype.newbyteorder("<"), copy=False)
            self._names[id(leaf)] = name
            self._leaves.append(leaf)
        return name

    def encode(self, obj, path=""):
        """The JSON node standing for ``obj``; its arrays go into ``self.arrays``."""
        kind = type(obj)
        if obj is None or kind in (bool, int, str):
            return obj
        if kind is float:
            return obj if math.isfinite(obj) else {"float": repr(obj)}
        if kind is list:
            return [self.encode(v, _join(path, i)) for i, v in enumerate(obj)]
        if kind is tuple:
            return {"tuple": [self.encode(v, _join(path, i)) for i, v in enumerate(obj)]}
        if kind in _MAPPINGS.values():  # (MultiStepLR keeps its milestones in a Counter)
            return {kind.__name__: [[self.encode(k, _join(path, k)), self.encode(v, _join(path, k))]
                                    for k, v in obj.items()]}
        if isinstance(obj, Tensor) and _code(obj.array.dtype):
            node = {"tensor": self._store(obj, obj.array, path)}
            if backend.device_of(obj.array) != "cpu":
                node["device"] = backend.device_of(obj.array)
            if obj.requires_grad:
                node["requires_grad"] = True
            if isinstance(obj, Parameter):
                node["parameter"] = True
            return node
        is_array = isinstance(obj, numpy.ndarray) or backend.device_of(obj) != "cpu"
        if is_array and _code(obj.dtype):
            node = {"ndarray": self._store(obj, obj, path)}
            if backend.device_of(obj) != "cpu":
                node["device"] = backend.device_of(obj)
            return node
        if isinstance(obj, numpy.generic) and _code(obj.dtype):
            return {"scalar": self._store(obj, numpy.asarray(obj), path)}
        return self._pickled(obj, path)

    def _pickled(self, obj, path):
        module, protocol = self._pickle
        raw = numpy.frombuffer(module.dumps(obj, protocol=protocol), dtype=numpy.uint8)
        name = self._name(f"__pickle__.{path}" if path else "__pickle__")
        self.arrays[name] = raw
        return {"pickle": name, "type": f"{type(obj).__module__}.{type(obj).__qualname__}"}


def _write(file, arrays, tree):
    # Larger items first: every tensor then starts at a multiple of its item size, as
    # safetensors' own writer arranges it, so readers may map the bytes without copying.
    names = sorted(arrays, key=lambda n: -arrays[n].dtype.itemsize)
    header, offset = {}, 0
    for name in names:
        array = arrays[name]
        header[name] = {"dtype": _code(array.dtype), "shape": list(array.shape),
                        "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
    header["__metadata__"] = {"format": "pt", _TREE: json.dumps(tree, separators=(",", ":"))}
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # the tensor bytes then start 8-byte aligned
    file.write(struct.pack("<Q", len(raw)))
    file.write(raw)
    for name in names:
        file.write(arrays[name].reshape(-1).view(numpy.uint8))


def save(obj, f, pickle_module=pickle, pickle_protocol=2, _use_new_zipfile_serialization=True):
    """Save ``obj`` to ``f`` (a path or a writable binary file), as ``torch.save``.

    ``obj`` is typically a state dict, or a dict of state dicts and counters: dicts (also
    OrderedDicts and Counters), lists and tuples of Tensors, NumPy/CuPy arrays (CuPy via the
    host), NumPy scalars, numbers, bools, None and strings are stored without pickle, in a
    safetensors file whose tensors are named by their path (``"model.fc.weight"``). Any other
    object is pickled with ``pickle_module``, as PyTorch does, and then needs
    ``load(..., weights_only=False)``.
    A path is written atomically: readers see the old file or the whole new one.
    ``_use_new_zipfile_serialization`` is accepted and has no effect.

    >>> distgrad.save({"model": model.state_dict(), "epoch": 3}, "checkpoint.pt")  # doctest: +SKIP
    """
    writer = _Writer(pickle_module, pickle_protocol)
    tree = writer.encode(obj)
    if not isinstance(f, (str, os.PathLike)):
        _write(f, writer.arrays, tree)
        return
    parent = os.path.dirname(os.path.abspath(os.fspath(f)))
    if not os.path.isdir(parent):
        raise RuntimeError(f"distgrad.save: parent directory {parent} does not exist; create it "
                           "first (os.makedirs)")
    write_atomic(f, lambda file: _write(file, writer.arrays, tree))


_MAX_HEADER = 100_000_000  # safetensors' own limit: a larger "length" means another kind of file


def _describe(f):
    if isinstance(f, (str, os.PathLike)):
        return os.fspath(f)
    return getattr(f, "name", None) or type(f).__name__


def _read_exact(file, n):
    """Up to ``n`` bytes of ``file`` in a writable buffer, and how many there were."""
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        if hasattr(file, "readinto"):
            k = file.readinto(view[got:])
        else:
            chunk = file.read(n - got)
            k = len(chunk)
            view[got:got + k] = chunk
        if not k:
            break
        got += k
    return buf, got


def _entries(header, fail):
    """``{name: (dtype, shape, begin, end)}`` from a safetensors header, and the payload size."""
    entries, size = {}, 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype = numpy.dtype(_DTYPES[entry["dtype"]]).newbyteorder("<")
            shape = tuple(int(d) for d in entry["shape"])
            begin, end = (int(o) for o in entry["data_offsets"])
            valid = min(shape, default=0) >= 0 and 0 <= begin <= end
            valid = valid and end - begin == math.prod(shape) * dtype.itemsize
        except (KeyError, TypeError, ValueError):
            valid = False
        if not valid:
            raise fail(f"the header's entry for {name!r} is malformed ({entry!r}): the file is "
                       "corrupt")
        entries[name] = (dtype, shape, begin, end)
        size = max(size, end)
    return entries, size


def _torch_file_error(where):
    return RuntimeError(
        f"distgrad.load({where!r}): this is a file written by torch.save (a pickle or zip "
        "archive), not by distgrad.save (a safetensors file). Convert it where PyTorch is "
        "installed, e.g. python -c \"import torch, safetensors.torch; "
        "safetensors.torch.save_file(torch.load('in.pt'), 'out.safetensors')\" for a state dict, "
        "then distgrad.load('out.safetensors')")


def _read(file, where, size, mmap_path):
    """The header and the (writable) tensor bytes of a safetensors file."""
    def fail(what):
        return RuntimeError(f"distgrad.load({where!r}): {what}")

    start = file.read(8)
    # torch.save's zip archives and legacy pickles, told apart only once the bytes fail to be
    # a safetensors header (whose length may well start with the same bytes).
    from_torch = start[:4] == b"PK\x03\x04" or start[:2] in (b"\x80\x02", b"\x80\x04")
    if len(start) < 8:
        raise fail(f"the file holds {len(start)} bytes, too few for a distgrad.save file: it is "
                   "empty or was cut short")
    (length,) = struct.unpack("<Q", start)
    if length > _MAX_HEADER or (size is not None and length > size - 8):
        if from_torch:
            raise _torch_file_error(where)
        raise fail(f"its first 8 bytes announce a {length}-byte header, more than the file "
                   "holds: it is not a distgrad.save (safetensors) file, or it was cut short")
    raw, got = _read_exact(file, length)
    if got < length:
        raise fail(f"the file ends {got} bytes into its {length}-byte header: it was cut short")
    try:
        header = json.loads(bytes(raw))
    except (UnicodeDecodeError, ValueError):
        header = None
    if not isinstance(header, dict):
        if from_torch:
            raise _torch_file_error(where)
        raise fail("its header is not a JSON object: the file is corrupt, or not a distgrad.save "
                   "(safetensors) file")
    entries, payload_size = _entries(header, fail)
    if size is not None and size - 8 - length != payload_size:
        raise fail(f"its header describes {payload_size} bytes of tensor data but "
                   f"{size - 8 - length} follow: the file was cut short or is corrupt")
    if mmap_path is not None and payload_size:
        # Copy-on-write: tensors are writable, and the file is never changed.
        payload = numpy.asarray(numpy.memmap(mmap_path, dtype=numpy.uint8, mode="c",
                                             offset=8 + length, shape=(payload_size,)))
    else:
        payload, got = _read_exact(file, payload_size)
        if got < payload_size:
            raise fail(f"its header describes {payload_size} bytes of tensor data but only {got} "
                       "follow: the file was cut short")
        payload = numpy.frombuffer(payload, dtype=numpy.uint8)
    return header, entries, payload, fail


class _Reader:
    """Rebuilds the saved object from the JSON tree and the tensor bytes."""

    def __init__(self, where, entries, payload, fail, map_location, weights_only, unpickle):
        self.where, self.entries, self.payload, self.fail = where, entries, payload, fail
        self.map_location, self.weights_only, self.unpickle = map_location, weights_only, unpickle
        self.built = {}  # (kind, name) -> object, so a leaf saved once for two places stays one

    def array(self, name):
        if not isinstance(name, str) or name not in self.entries:
            raise self.fail(f"its structure refers to tensor {name!r}, which the file does not "
                            "hold: the file is corrupt")
        dtype, shape, begin, end = self.entries[name]
        array = self.payload[begin:end].view(dtype).reshape(shape)
        return array if array.flags.aligned else array.copy()

    def device(self, saved):
        target = self.map_location
        if isinstance(target, dict):
            target = target.get(saved, saved)
        target = saved if target is None else str(target)
        if target.startswith("cuda") and not backend.cuda_is_available():
            raise self.fail(f"it holds tensors saved on {saved}, but CUDA is not available here; "
                            "load them onto the CPU with distgrad.load(f, map_location='cpu')")
        return backend.parse_device(target)

    def placed(self, host, saved):
        device = self.device(saved)
        return host if device == "cpu" else backend.to_device(host, device)

    def tensor(self, node):
        host, saved = self.array(node["tensor"]), node.get("device", "cpu")
        if callable(self.map_location):  # PyTorch's map_location(storage, location)
            moved = self.map_location(Tensor(host), saved)
            array = self.placed(host, saved) if moved is None else getattr(moved, "array", moved)
        else:
            array = self.placed(host, saved)
        if node.get("parameter"):
            return Parameter(array, requires_grad=bool(node.get("requires_grad")))
        return Tensor(array, requires_grad=bool(node.get("requires_grad")))

    def leaf(self, kind, node):
        key = (kind, node[kind])
        if key not in self.built:
            if kind == "tensor":
                self.built[key] = self.tensor(node)
            elif kind == "ndarray":
                saved = node.get("device", "cpu")
                device = saved if callable(self.map_location) else self.device(saved)
                host = self.array(node[kind])
                self.built[key] = host if device == "cpu" else backend.to_device(host, device)
            else:
                self.built[key] = self.array(node[kind])[()]
        return self.built[key]

    def pickled(self, node):
        if self.weights_only:
            raise pickle.UnpicklingError(
                f"distgrad.load({self.where!r}): weights_only=True refuses to unpickle the "
                f"{node.get('type')} saved as {node['pickle']!r} (distgrad.save pickles what is "
                "not a tensor, array, number, string or a dict/list/tuple of them). If you trust "
                "the file's source, call distgrad.load(f, weights_only=False); unpickling can run "
                "arbitrary code")
        return self.unpickle(self.array(node["pickle"]).tobytes())

    def decode(self, node):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if isinstance(node, dict):
            for kind in ("tensor", "ndarray", "scalar"):
                if kind in node:
                    return self.leaf(kind, node)
            if "tuple" in node:
                return tuple(self.decode(v) for v in node["tuple"])
            for kind, cls in _MAPPINGS.items():
                if kind in node:
                    items = {self.decode(k): self.decode(v) for k, v in node[kind]}
                    return items if cls is dict else cls(items)
            if "float" in node:
                return float(node["float"])
            if "pickle" in node:
                return self.pickled(node)
        raise self.fail(f"its structure holds {node!r}, which distgrad.save does not write: the "
                        "file is corrupt")


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None,
         **pickle_load_args):
    """Load what ``save`` wrote to ``f`` (a path or a readable binary file), as ``torch.load``.

    Tensors come back as Tensors (Parameters as Parameters), arrays as arrays, tuples as tuples.
    A safetensors file written by other tools loads as a dict of Tensors.

    Args:
        map_location: where tensors go: None (where they were saved), ``"cpu"``, ``"cuda"``,
            ``"cuda:N"`` or a device; a dict mapping saved locations to new ones
            (``{"cuda:0": "cpu"}``); or a function ``(tensor_on_cpu, location)`` returning the
            tensor to use (``lambda storage, loc: storage`` keeps everything on the CPU).
        weights_only: True (the default, also for None) refuses to unpickle objects that
            ``save`` had to pickle; False unpickles them with ``pickle_module`` (only for files
            you trust: unpickling can run arbitrary code).
        mmap: map a path's tensor bytes from the file (copy-on-write) instead of reading them.

    Raises ``RuntimeError`` naming the file when it is truncated, corrupt or not a
    ``distgrad.save`` (safetensors) file; ``pickle.UnpicklingError`` for pickled objects under
    ``weights_only=True``.
    """
    where = _describe(f)
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            header, entries, payload, fail = _read(file, where, size,
                                                   os.fspath(f) if mmap else None)
    elif mmap:
        raise ValueError("distgrad.load(mmap=True) needs a file path, not a file object")
    else:
        header, entries, payload, fail = _read(f, where, None, None)
    unpickle = (lambda raw: (pickle_module or pickle).loads(raw, **pickle_load_args))
    reader = _Reader(where, entries, payload, fail, map_location, weights_only is not False,
                     unpickle)
    tree = (header.get("__metadata__") or {}).get(_TREE)
    if tree is None:  # a safetensors file from elsewhere: its tensors by name
        names = sorted(entries, key=lambda n: entries[n][2])
        return {name: reader.decode({"tensor": name}) for name in names}
    try:
        tree = json.loads(tree)
    except (TypeError, ValueError):
        raise fail("the structure in its header is not valid JSON: the file is corrupt") from None
    return reader.decode(tree)
