"""Checkpoints: one ``.npz`` of arrays plus a JSON manifest, written atomically, last K kept.

No pickle: nested state (model, optimiser, scheduler, loader, RNGs) is split into arrays, which
go into the ``.npz``, and everything else, which goes into the manifest. The manifest is written
last and records the ``.npz``'s sha256 and its own (over the rest of the manifest), so a
checkpoint is complete and unmodified exactly when its manifest exists and both hashes match.
A checkpoint holding a NaN or infinity is never written, so rotation only ever replaces finite
checkpoints by finite ones.
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

FORMAT = "distgrad-checkpoint-2"
_NAME = re.compile(r"checkpoint-(\d{9})\.json$")
_TEMPORARY = re.compile(r"^\.checkpoint-\d{9}\.(json|npz)\..*\.tmp$")


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


def _manifest_digest(manifest):
    """sha256 of the manifest without its own digest, over a canonical JSON text."""
    rest = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    return hashlib.sha256(json.dumps(rest, sort_keys=True).encode()).hexdigest()


def _first_nonfinite(tree, arrays, path="state"):
    """The path of the first array or float in the split state that is NaN or infinite."""
    if isinstance(tree, dict):
        if "__array__" in tree:
            a = arrays[tree["__array__"]]
            if a.dtype.kind in "fc" and not numpy.isfinite(a).all():
                return path
            return None
        for k, v in tree["__dict__"]:
            found = _first_nonfinite(v, arrays, f"{path}.{k}")
            if found:
                return found
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            found = _first_nonfinite(v, arrays, f"{path}[{i}]")
            if found:
                return found
    elif isinstance(tree, float) and not numpy.isfinite(tree):
        return path
    return None


class NonFiniteCheckpointError(CheckpointError):
    """A checkpoint that would hold NaN or infinity (refused, so good ones are kept)."""


def save(directory, step, state, meta, keep=3):
    """Write checkpoint ``step`` into ``directory`` and delete all but the newest ``keep``.

    Args:
        state: nested dicts/lists of NumPy arrays and JSON values.
        meta: JSON values describing the run (model, world size, ...), checked on resume.
    Returns the manifest's path. Raises ``NonFiniteCheckpointError`` (writing and deleting
    nothing) when the state holds a NaN or infinity.
    """
    os.makedirs(directory, exist_ok=True)
    arrays = {}
    tree = _split(state, arrays, "state")
    bad = _first_nonfinite(tree, arrays)
    if bad:
        raise NonFiniteCheckpointError(
            f"checkpoint of step {step} not written: {bad} holds NaN or infinity; the earlier "
            f"checkpoints in {directory} are kept")
    base = os.path.join(directory, f"checkpoint-{int(step):09d}")
    write_atomic(base + ".npz", lambda f: numpy.savez(f, **arrays))
    manifest = {"format": FORMAT, "step": int(step), "meta": meta, "state": tree,
                "npz": os.path.basename(base + ".npz"), "sha256": _sha256(base + ".npz")}
    manifest["manifest_sha256"] = _manifest_digest(manifest)
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
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise CheckpointError(f"{manifest_path} is not a {FORMAT} manifest (format {found!r})")
    if manifest.get("manifest_sha256") != _manifest_digest(manifest):
        raise CheckpointError(f"checkpoint manifest {manifest_path} was modified after it was "
                              "written (its sha256 does not match)")
    npz = os.path.join(os.path.dirname(manifest_path), manifest["npz"])
    if not os.path.exists(npz):
        raise CheckpointError(f"checkpoint {manifest_path} lists {npz}, which is missing")
    digest = _sha256(npz)
    if digest != manifest["sha256"]:
        raise CheckpointError(f"checkpoint {npz} is corrupt: sha256 {digest}, manifest says "
                              f"{manifest['sha256']}")
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


def latest_valid(directory):
    """The newest checkpoint that loads and verifies: ``((step, state, meta) or None,
    [(manifest path, why it was skipped), ...] newest first)``."""
    skipped = []
    for path in reversed(list_checkpoints(directory) if os.path.isdir(directory) else []):
        try:
            return load(path), skipped
        except CheckpointError as exc:
            skipped.append((path, str(exc)))
    return None, skipped


def clean(directory):
    """Delete what crashed writes left in ``directory``: temporary files of ``write_atomic``
    and ``.npz`` files without a manifest. Returns the names deleted."""
    if not os.path.isdir(directory):
        return []
    removed = []
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        orphan = (name.startswith("checkpoint-") and name.endswith(".npz")
                  and _NAME.search(name[:-4] + ".json")
                  and not os.path.exists(path[:-4] + ".json"))
        if _TEMPORARY.match(name) or orphan:
            try:
                os.unlink(path)
                removed.append(name)
            except FileNotFoundError:
                pass
    return removed


def differences(meta, expected):
    """``[(setting, checkpoint's value, this run's value)]`` for every setting that differs
    (settings a checkpoint does not record are not compared)."""
    return [(k, meta[k], v) for k, v in expected.items() if k in meta and meta[k] != v]


def check_compatible(meta, expected):
    """Raise CheckpointError naming every setting in which ``meta`` differs from ``expected``."""
    diffs = [f"{k}: checkpoint has {a!r}, this run has {b!r}"
             for k, a, b in differences(meta, expected)]
    if diffs:
        raise CheckpointError("cannot resume: the checkpoint was written by a different "
                              "configuration (" + "; ".join(diffs) + "); resume with the same "
                              "settings or use a new --checkpoint-dir")
