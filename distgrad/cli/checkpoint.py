"""Checkpoints: one ``.npz`` of arrays plus a JSON manifest, written atomically, last K kept.

No pickle: nested state (model, optimiser, scheduler, loader, RNGs) is split into arrays, which
go into the ``.npz``, and everything else, which goes into the manifest. The manifest is written
last and records the ``.npz``'s sha256, so a checkpoint is complete exactly when its manifest
exists and the hash matches.
"""
import glob
import hashlib
import json
import os
import re
import zipfile

import numpy

from .. import backend
from ..atomic import write_atomic
from ..autograd import Tensor

FORMAT = "distgrad-checkpoint-1"
_NAME = re.compile(r"checkpoint-(\d{9})\.json$")


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used: corrupt, incomplete or from another configuration."""


def _split(obj, arrays, path):
    """Replace every array in ``obj`` by a reference into ``arrays`` (JSON-compatible result);
    Tensors (a model's state_dict) are stored as their host arrays."""
    if isinstance(obj, Tensor):
        obj = backend.to_numpy(obj.array)
    if isinstance(obj, numpy.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = obj
        return {"__array__": key}
    if isinstance(obj, dict):
        if not all(isinstance(k, (str, int)) for k in obj):
            raise TypeError(f"checkpoint state at {path} has non-string keys")
        # JSON keys are strings; remember which were ints (optimiser state is keyed by index).
        return {"__dict__": [[k, _split(v, arrays, f"{path}.{k}")] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return [_split(v, arrays, f"{path}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, numpy.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"checkpoint state at {path} holds a {type(obj).__name__}, which is neither "
                    "an array nor JSON data")


def _join(obj, arrays):
    if isinstance(obj, dict):
        if "__array__" in obj:
            return arrays[obj["__array__"]]
        return {k: _join(v, arrays) for k, v in obj["__dict__"]}
    if isinstance(obj, list):
        return [_join(v, arrays) for v in obj]
    return obj


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save(directory, step, state, meta, keep=3):
    """Write checkpoint ``step`` into ``directory`` and delete all but the newest ``keep``.

    Args:
        state: nested dicts/lists of NumPy arrays and JSON values.
        meta: JSON values describing the run (model, world size, ...), checked on resume.
    Returns the manifest's path.
    """
    os.makedirs(directory, exist_ok=True)
    arrays = {}
    tree = _split(state, arrays, "state")
    base = os.path.join(directory, f"checkpoint-{int(step):09d}")
    write_atomic(base + ".npz", lambda f: numpy.savez(f, **arrays))
    manifest = {"format": FORMAT, "step": int(step), "meta": meta, "state": tree,
                "npz": os.path.basename(base + ".npz"), "sha256": _sha256(base + ".npz")}
    write_atomic(base + ".json", lambda f: f.write(json.dumps(manifest).encode()))
    for old in list_checkpoints(directory)[:-keep] if keep > 0 else []:
        for suffix in (".json", ".npz"):
            try:
                os.unlink(old[:-5] + suffix)
            except FileNotFoundError:
                pass
    return base + ".json"


def list_checkpoints(directory):
    """Manifests in ``directory``, oldest first (a checkpoint without one is incomplete)."""
    found = [p for p in glob.glob(os.path.join(directory, "checkpoint-*.json"))
             if _NAME.search(os.path.basename(p))]
    return sorted(found)


def load(manifest_path):
    """Read and verify one checkpoint; returns ``(step, state, meta)``."""
    try:
        with open(manifest_path, "rb") as f:
            manifest = json.loads(f.read())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"checkpoint manifest {manifest_path} is unreadable ({exc}); "
                              "delete it to resume from an earlier checkpoint") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(f"{manifest_path} is not a {FORMAT} manifest")
    npz = os.path.join(os.path.dirname(manifest_path), manifest["npz"])
    if not os.path.exists(npz):
        raise CheckpointError(f"checkpoint {manifest_path} lists {npz}, which is missing")
    digest = _sha256(npz)
    if digest != manifest["sha256"]:
        raise CheckpointError(f"checkpoint {npz} is corrupt: sha256 {digest}, manifest says "
                              f"{manifest['sha256']}; delete {manifest_path} to resume from an "
                              "earlier checkpoint")
    try:
        with numpy.load(npz, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise CheckpointError(f"checkpoint {npz} cannot be read ({exc})") from None
    return manifest["step"], _join(manifest["state"], arrays), manifest["meta"]


def latest(directory):
    """``load`` of the newest checkpoint in ``directory``, or None when there is none."""
    found = list_checkpoints(directory) if os.path.isdir(directory) else []
    return load(found[-1]) if found else None


def check_compatible(meta, expected):
    """Raise CheckpointError naming every setting in which ``meta`` differs from ``expected``."""
    diffs = [f"{k}: checkpoint has {meta.get(k)!r}, this run has {v!r}"
             for k, v in expected.items() if meta.get(k) != v]
    if diffs:
        raise CheckpointError("cannot resume: the checkpoint was written by a different "
                              "configuration (" + "; ".join(diffs) + "); resume with the same "
                              "settings or use a new --checkpoint-dir")
