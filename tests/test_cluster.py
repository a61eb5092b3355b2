"""The emulated cluster (benchmarks/cluster.py): two network namespaces behind a shaped link,
one MPI rank in each, all traffic on the link. Needs root and ``ip netns``; skips otherwise."""
import os
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "benchmarks"))
import cluster  # noqa: E402


def _namespaces():
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


@pytest.fixture
def can_build():
    ok, why = cluster.available()
    if not ok:
        pytest.skip(f"emulated cluster unavailable: {why}")
    pytest.importorskip("mpi4py")
    if not os.path.exists(cluster._default_mpiexec()) and shutil.which("mpiexec") is None:
        pytest.skip("no mpiexec")


def test_allreduce_crosses_the_shaped_link_and_everything_is_removed(can_build):
    before = _namespaces()
    with cluster.EmulatedCluster(2, "1gbit") as c:
        assert set(c.namespaces) | {c.switch} <= _namespaces()
        rows = cluster.check(c, sizes=(2 << 20,), repeats=3, timeout=50)
    assert _namespaces() == before
    (nbytes, best, median, bits), = rows
    # Through shared memory the same all-reduce runs at tens of Gbit/s: at or below the rate
    # (plus tbf's burst) the bytes went over the link. The lower bound leaves room for a
    # loaded CI machine; benchmarks/cluster.py check measures the accuracy (within 15%).
    assert 0.4e9 < bits < 1.15e9, rows


def test_a_failed_build_leaves_nothing_behind(can_build, monkeypatch):
    before = _namespaces()
    c = cluster.EmulatedCluster(2, "1gbit")
    monkeypatch.setattr(cluster, "_shape", lambda *a: (_ for _ in ()).throw(
        subprocess.CalledProcessError(1, "tc")))
    with pytest.raises(subprocess.CalledProcessError):
        c.up()
    assert _namespaces() == before


def test_rates_parse():
    assert cluster.rate_bits("1gbit") == 1e9 and cluster.rate_bits("500mbit") == 5e8
    with pytest.raises(ValueError, match="rate='fast'"):
        cluster.rate_bits("fast")
    assert cluster.bus_bandwidth(1e6, 8e-3, 2) == pytest.approx(1e9)
