"""Launching as PyTorch users do: torchrun's environment under mpiexec, ``distgrad run``, and
``distgrad.multiprocessing.spawn``; N ranks end with the parameters one process computes."""
import os
import subprocess
import sys

import numpy
import pytest

from distgrad import launcher
from distgrad.distributed import run as launch

SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "launch_scripts")
DISTGRAD = os.path.join(os.path.dirname(sys.executable), "distgrad")

try:
    launch.find_mpiexec()
except launch.LaunchError:
    pytest.skip("no mpiexec", allow_module_level=True)


def _env():
    env = {k: v for k, v in os.environ.items()
           if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")}
    env["PYTHONPATH"] = SCRIPTS + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"
    return env


def _run(cmd, timeout=120):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=_env(),
                          cwd=SCRIPTS)


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    out = tmp_path_factory.mktemp("one") / "params.npy"
    done = _run([DISTGRAD, "run", "--nproc-per-node", "1", "torchrun_ddp.py", str(out)])
    assert done.returncode == 0, done.stderr
    return numpy.load(out)


@pytest.mark.parametrize("nproc", [1, 2])
def test_distgrad_run_matches_one_process(nproc, one_process, tmp_path):
    out = tmp_path / "params.npy"
    done = _run([DISTGRAD, "run", "--nproc_per_node", str(nproc), "--master-port", "29500",
                 "torchrun_ddp.py", str(out)])
    assert done.returncode == 0, done.stderr
    numpy.testing.assert_allclose(numpy.load(out), one_process, rtol=1e-5, atol=1e-6)


def test_torchrun_style_script_under_plain_mpiexec(one_process, tmp_path):
    out = tmp_path / "params.npy"
    done = _run([launch.find_mpiexec(), "-n", "2", sys.executable, "torchrun_ddp.py", str(out)])
    assert done.returncode == 0, done.stderr
    numpy.testing.assert_allclose(numpy.load(out), one_process, rtol=1e-5, atol=1e-6)


def test_spawn_forms_one_group_from_plain_python(one_process, tmp_path):
    out = tmp_path / "params.npy"
    done = _run([sys.executable, "spawn_ddp.py", str(out), "2"])
    assert done.returncode == 0, done.stderr
    numpy.testing.assert_allclose(numpy.load(out), one_process, rtol=1e-5, atol=1e-6)


def test_spawn_failure_ends_every_process_with_its_error():
    done = _run([sys.executable, "spawn_ddp.py", "broken", "3"], timeout=60)
    assert done.returncode != 0
    assert "ProcessRaisedException" in done.stderr
    assert "-- Process 2 terminated with the following error" in done.stderr
    assert "ValueError: rank 2 cannot go on" in done.stderr


def test_spawn_rejects_what_workers_cannot_import():
    import distgrad.multiprocessing as mp
    with pytest.raises(ValueError, match="top level"):
        mp.spawn(lambda rank: None, nprocs=2)


def test_run_dry_run_shows_the_mpiexec_command():
    done = _run([DISTGRAD, "run", "--dry-run", "--nnodes", "1:2", "--nproc-per-node", "3",
                 "-m", "pkg.train", "--lr", "0.1"])
    assert done.returncode == 0, done.stderr
    words = done.stdout.split()
    assert words[1:3] == ["-n", "6"] and "-ppn" in words
    assert words[-5:] == [sys.executable, "-m", "pkg.train", "--lr", "0.1"]


def test_run_names_a_missing_script():
    done = _run([DISTGRAD, "run", "--nproc-per-node", "2", "no_such_script.py"])
    assert done.returncode == 2 and "no such script: no_such_script.py" in done.stderr


@pytest.mark.parametrize("env, layout", [
    ({"PMI_RANK": "3", "PMI_SIZE": "4", "MPI_LOCALRANKID": "1", "MPI_LOCALNRANKS": "2"},
     (3, 4, 1, 2)),
    ({"OMPI_COMM_WORLD_SIZE": "8", "OMPI_COMM_WORLD_RANK": "5",
      "OMPI_COMM_WORLD_LOCAL_RANK": "1", "OMPI_COMM_WORLD_LOCAL_SIZE": "4"}, (5, 8, 1, 4)),
    ({"SLURM_PROCID": "5", "SLURM_STEP_ID": "0", "SLURM_NTASKS": "6", "SLURM_LOCALID": "2",
      "SLURM_NODEID": "1", "SLURM_TASKS_PER_NODE": "3(x2)"}, (5, 6, 2, 3)),
    ({}, None),
])
def test_launcher_variables_become_torchruns(env, layout):
    env = dict(env)
    assert launcher.rank_layout(env) == layout
    added = launcher.export_torchrun_environment(env)
    if layout is None:
        assert added == {}
    else:
        assert [env[k] for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")] == \
            [str(v) for v in layout]
    env["RANK"] = "7"
    launcher.export_torchrun_environment(env)
    assert env["RANK"] == "7"  # a launcher's own RANK wins


@pytest.mark.parametrize("passes, compression", [(1, "none"), (2, "fp16")])
def test_horovod_style_script_matches_ddp(passes, compression, tmp_path):
    params = {}
    for mode in ("hvd", "ddp"):
        out = tmp_path / f"{mode}.npy"
        done = _run([launch.find_mpiexec(), "-n", "2", sys.executable, "horovod_style.py", mode,
                     str(passes), compression, str(out)])
        assert done.returncode == 0, done.stderr
        assert "average loss" in done.stdout
        params[mode] = numpy.load(out)
    numpy.testing.assert_allclose(params["hvd"], params["ddp"], rtol=1e-6, atol=1e-7)
