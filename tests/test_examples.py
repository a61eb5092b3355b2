"""The example scripts run unchanged on one process and under mpiexec (real data needed)."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MPIEXEC = shutil.which("mpiexec", path=os.path.dirname(sys.executable))
pytestmark = pytest.mark.skipif(not os.environ.get("DISTGRAD_DATA"), reason="DISTGRAD_DATA is not set")


def run(script, ranks):
    cmd = [sys.executable, str(ROOT / "examples" / script), "--dataset", "fashion-mnist"]
    if ranks > 1:
        if MPIEXEC is None:
            pytest.skip("no mpiexec beside this Python")
        cmd = [MPIEXEC, "-n", str(ranks), *cmd]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    match = re.search(r"test accuracy ([\d.]+)%.* on (\d) rank", result.stdout)
    assert match, result.stdout
    return float(match.group(1)), int(match.group(2))


@pytest.mark.parametrize("ranks", [1, 2])
def test_mlp_example(ranks):
    accuracy, world = run("mnist_mlp.py", ranks)
    assert world == ranks and accuracy > 80


def test_cnn_example_under_mpiexec():
    accuracy, world = run("mnist_cnn.py", 2)
    assert world == 2 and accuracy > 80
