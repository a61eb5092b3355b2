"""Failure handling under a real ``mpiexec``, run as subprocesses with a timeout so that a
regression (a hang) fails the test instead of blocking CI."""
import os
import shutil
import subprocess
import sys
import time

import pytest

from distgrad import launcher
from distgrad.distributed import abort

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = os.path.join(REPO, "tests", "mpi", "scripts")
MPIEXEC = (shutil.which("mpiexec", path=os.path.dirname(sys.executable))
           or shutil.which("mpiexec"))

pytestmark = pytest.mark.skipif(MPIEXEC is None, reason="needs mpiexec (pip install mpich)")


def run_mpi(script, *args, n=2, env=None, timeout=60):
    """Run ``scripts/script`` on ``n`` ranks; return (completed process, seconds taken)."""
    clean = {k: v for k, v in os.environ.items()
             if k not in [v for v, _ in launcher._LAUNCHER_VARIABLES] and not k.startswith("PMI")}
    clean.update({"PYTHONPATH": os.pathsep.join([REPO, SCRIPTS]), "OMP_NUM_THREADS": "1",
                  "OPENBLAS_NUM_THREADS": "1", "DISTGRAD_WATCHDOG_TIMEOUT": "30"})
    clean.update(env or {})
    start = time.monotonic()
    proc = subprocess.run([MPIEXEC, "-n", str(n), sys.executable, os.path.join(SCRIPTS, script),
                           *args], capture_output=True, text=True, timeout=timeout, env=clean)
    return proc, time.monotonic() - start


def test_mismatched_models_fail_on_every_rank():
    proc, _ = run_mpi("mismatch.py", n=3)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if "caught ValueError" in line]
    assert sorted(line.split()[1] for line in lines) == ["0", "1", "2"]
    for line in lines:
        assert "differs between ranks [0, 1]" in line
        assert "rank 0 has parameter '2.weight' with shape (3, 8)" in line
        assert "rank 1 has parameter '2.weight' with shape (4, 8)" in line


@pytest.mark.parametrize("where, message", [
    ("main", "RuntimeError: deliberate failure on rank 1"),
    ("comm", "deliberate failure in the comm hook on rank 1"),
])
def test_one_rank_raising_ends_the_job(where, message):
    proc, seconds = run_mpi("raise_on_rank.py", where)
    assert proc.returncode != 0
    assert seconds < 20
    assert "finished 100 steps" not in proc.stdout
    assert "[rank 1] uncaught exception in the main thread" in proc.stderr
    assert any(line.startswith("[rank 1] ") and message in line
               for line in proc.stderr.splitlines()), proc.stderr


@pytest.mark.parametrize("where, waited_in, absent", [
    ("barrier", "in barrier(), called from stall.py:", "rank 1 is outside any collective"),
    ("ddp", "in Tensor.backward() → Allreduce of gradient bucket 0 of 1 (288 bytes) in DDP "
            "step 1, called from stall.py:", "rank 1 is outside any collective"),
    ("stop", "in barrier(), called from stall.py:", "rank 1 did not answer"),
])
def test_watchdog_reports_where_a_rank_waits_and_aborts(where, waited_in, absent):
    proc, seconds = run_mpi("stall.py", where, "1.5")
    assert proc.returncode == abort.EXIT_WATCHDOG, proc.stderr
    assert seconds < 20
    assert "was not stopped" not in proc.stdout
    assert "[rank 0] distgrad watchdog: no progress for" in proc.stderr, proc.stderr
    assert waited_in in proc.stderr
    assert "Rank 1 did not arrive: " + absent in proc.stderr


def test_unused_parameter_on_one_rank_is_an_error_everywhere():
    proc, _ = run_mpi("unused_on_one_rank.py")
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if "caught RuntimeError" in line]
    assert sorted(line.split()[1] + line.split()[3] for line in lines) == ["00", "01", "10", "11"]
    for line in lines:
        assert "parameter 'b.weight' (and 1 more: 'b.bias')" in line
        assert "on 1 of 2 rank(s)" in line and "find_unused_parameters=True" in line
