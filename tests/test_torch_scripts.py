"""PyTorch-style scripts run unchanged on distgrad after the mechanical rename, and print the
same numbers as under PyTorch.

Each script in ``tests/torch_scripts/`` is written for ``import torch``. ``rename`` turns it into
a distgrad script with the substitutions in ``RENAMES`` only (import lines and module paths,
nothing script-specific); both versions run in subprocesses and their outputs are compared line
by line: the same numbers (within the script's tolerance) and, on lines without numbers, the
same text.
"""
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import numpy
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = Path(__file__).resolve().parent / "torch_scripts"

# What a user changes to move a PyTorch script to distgrad, applied in this order.
RENAMES = [
    (r"\btorchvision\.datasets\b", "distgrad.data.datasets"),
    (r"\btorchvision\.transforms\b", "distgrad.data.transforms"),
    (r"\bfrom torchvision import\b", "from distgrad.data import"),
    (r"\btorch\.nn\.parallel\b", "distgrad.distributed"),
    (r"\btorch\.utils\.data\b", "distgrad.data"),
    (r"\btorch\b", "distgrad"),
]

# (rtol, atol) for each script's numbers: float64 scripts agree to rounding, float32 ones less.
TOLERANCES = {
    "checkpoint_resume.py": (1e-9, 1e-12),
    "custom_function.py": (1e-9, 1e-12),
    "ddp_tutorial.py": (1e-9, 1e-12),
    "fashion_quickstart.py": (1e-4, 1e-5),
    "mnist_example.py": (1e-9, 1e-12),
}

NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|\bnan\b|\binf\b")


def rename(source):
    """``source`` with PyTorch's module paths replaced by distgrad's."""
    for pattern, replacement in RENAMES:
        source = re.sub(pattern, replacement, source)
    return source


def run(path, cwd):
    """The stdout of ``python path``, run in ``cwd`` against this checkout's distgrad."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               MASTER_ADDR="127.0.0.1", MASTER_PORT=str(_free_port()))
    try:
        import torchvision  # noqa: F401  (real data only when both libraries can read it)
    except ImportError:
        env.pop("DISTGRAD_DATA", None)
    result = subprocess.run([sys.executable, str(path)], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=300)
    return result.returncode, result.stdout, result.stderr


def differences(expected, actual, rtol, atol):
    """Lines where ``actual`` output differs from ``expected``: numbers beyond tolerance, or
    the text of lines without numbers."""
    expected, actual = expected.strip().splitlines(), actual.strip().splitlines()
    found = [] if len(expected) == len(actual) else [
        f"{len(expected)} lines under PyTorch, {len(actual)} under distgrad"]
    for i, (want, got) in enumerate(zip(expected, actual), 1):
        want_numbers, got_numbers = NUMBER.findall(want), NUMBER.findall(got)
        if not want_numbers:
            same = rename(want).strip() == got.strip()
        else:
            same = len(want_numbers) == len(got_numbers) and numpy.allclose(
                numpy.array(got_numbers, float), numpy.array(want_numbers, float),
                rtol=rtol, atol=atol, equal_nan=True)
        if not same:
            found.append(f"line {i}: PyTorch {want!r}, distgrad {got!r}")
    return found


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_rename_touches_module_paths_only():
    source = ("import torch\nimport torch.nn.functional as F\n"
              "from torch.utils.data import DataLoader\n"
              "from torchvision import datasets, transforms\n"
              "from torch.nn.parallel import DistributedDataParallel as DDP\n"
              "x = torch.zeros(2)  # torch_scripts stay\n")
    assert rename(source) == (
        "import distgrad\nimport distgrad.nn.functional as F\n"
        "from distgrad.data import DataLoader\n"
        "from distgrad.data import datasets, transforms\n"
        "from distgrad.distributed import DistributedDataParallel as DDP\n"
        "x = distgrad.zeros(2)  # torch_scripts stay\n")


def test_differences_compares_numbers_within_tolerance():
    assert differences("loss 1.0000001\nDone!", "loss 1.0\nDone!", 1e-6, 0) == []
    assert differences("loss 1.1", "loss 1.0", 1e-6, 0) == [
        "line 1: PyTorch 'loss 1.1', distgrad 'loss 1.0'"]
    assert differences("Predicted: torch", "Predicted: distgrad", 0, 0) == []
    assert len(differences("a 1\nb 2", "a 1", 0, 0)) == 1


@pytest.mark.parametrize("script", sorted(TOLERANCES))
def test_script_runs_unchanged_after_rename(script, tmp_path):
    pytest.importorskip("torch")
    original = SCRIPTS / script
    renamed = tmp_path / script
    renamed.write_text(rename(original.read_text()))
    code, reference, err = run(original, tmp_path)
    assert code == 0, f"the PyTorch script itself fails:\n{err[-3000:]}"
    code, output, err = run(renamed, tmp_path)
    assert code == 0, f"renamed script fails under distgrad:\n{err[-3000:]}"
    found = differences(reference, output, *TOLERANCES[script])
    assert not found, "output differs from PyTorch's:\n" + "\n".join(found[:20])
