"""Launching as PyTorch users do: torchrun's environment under mpiexec, ``distgrad run``, and
``distgrad.multiprocessing.spawn``; N ranks end with the parameters one process computes."""
import os
import signal
import subprocess
import sys
import time

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
    assert words[0] == "OMP_NUM_THREADS=1"  # as _env() set it
    assert os.path.samefile(words[1], launch.find_mpiexec()) and words[2:4] == ["-n", "6"]
    assert "-ppn" in words or "ppr:3:node" in words
    # The console script's Python may be another path to the same interpreter; each rank
    # starts through distgrad/launcher.py, which sets torchrun's variables first.
    assert os.path.samefile(words[-6], sys.executable)
    assert words[-5].endswith(os.path.join("distgrad", "launcher.py"))
    assert words[-4:] == ["-m", "pkg.train", "--lr", "0.1"]


def test_run_np_is_all_ranks_and_shares_each_machines_cores(tmp_path):
    hosts = tmp_path / "hosts"
    hosts.write_text("node01:4\nnode02:4\n")
    env = {k: v for k, v in _env().items() if k not in ("OMP_NUM_THREADS", "SLURM_NTASKS")}
    done = subprocess.run([DISTGRAD, "run", "--dry-run", "--np", "4", "--hostfile", str(hosts),
                           "--no-python", "hostname"], capture_output=True, text=True,
                          timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    words = done.stdout.split()
    assert words[0] == f"OMP_NUM_THREADS={max(1, launch.cores() // 2)}"  # 2 ranks per machine
    assert words[2:4] == ["-n", "4"] and str(hosts) in words
    assert not {"-ppn", "--map-by"} & set(words)  # the slots place them
    assert words[-1] == "hostname"


def test_run_np_excludes_torchruns_counts():
    done = _run([DISTGRAD, "run", "--dry-run", "--np", "4", "--nproc-per-node", "2", "-m", "x"])
    assert done.returncode == 2
    assert "--np counts all the ranks" in done.stderr


def test_run_verbose_shows_the_command_then_runs_it():
    done = _run([DISTGRAD, "run", "--verbose", "--np", "2", "--no-python", "sh", "-c",
                 'echo rank ${PMI_RANK:-$OMPI_COMM_WORLD_RANK}'])
    assert done.returncode == 0, done.stderr
    shown = done.stderr.split()
    assert shown[:2] == ["+", "OMP_NUM_THREADS=1"]
    assert os.path.samefile(shown[2], launch.find_mpiexec())
    assert shown[3:5] == ["-n", "2"] and shown[shown.index("--exec") + 1] == "sh"
    assert sorted(done.stdout.split("\n")[:2]) == ["rank 0", "rank 1"]


@pytest.mark.parametrize("how", ["script", "module", "executable"])
def test_run_sets_torchruns_variables_before_the_program_starts(how, tmp_path):
    # As torchrun does: a program that reads them first, or never imports distgrad, finds them.
    (tmp_path / "probe.py").write_text(
        "import os, sys\n"
        "assert 'distgrad' not in sys.modules and __name__ == '__main__'\n"
        "line = [os.environ[k] for k in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', "
        "'LOCAL_WORLD_SIZE')] + sys.argv[1:]\n"
        "os.write(1, (' '.join(line) + '\\n').encode())  # one write: ranks do not interleave\n")
    target = {"script": [str(tmp_path / "probe.py")], "module": ["-m", "probe"],
              "executable": ["--no-python", sys.executable, str(tmp_path / "probe.py")]}[how]
    done = subprocess.run([DISTGRAD, "run", "--nproc-per-node", "2", *target, "x"],
                          capture_output=True, text=True, timeout=120, env=_env(),
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(done.stdout.splitlines()) == ["0 2 0 2 x", "1 2 1 2 x"]


def test_run_becomes_mpiexec_so_a_signal_reaches_every_rank(tmp_path):
    """What Slurm's SIGUSR1 before the time limit relies on: distgrad run is replaced by
    mpiexec (same process), which hands the signal to the ranks."""
    probe = ("import os, signal, sys, time; "
             "rank = os.environ.get('PMI_RANK') or os.environ['OMPI_COMM_WORLD_RANK']; "
             "signal.signal(signal.SIGUSR1, lambda *a: (os.write(1, f'USR1 {rank}\\n'.encode()), "
             "sys.exit(0))); "
             "open(sys.argv[1] + str(os.getpid()), 'w').close(); time.sleep(60); sys.exit(1)")
    proc = subprocess.Popen([DISTGRAD, "run", "--nproc-per-node", "2", "--no-python",
                             sys.executable, "-c", probe, str(tmp_path / "ready")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    try:
        deadline = time.time() + 60
        while len(list(tmp_path.glob("ready*"))) < 2:
            assert proc.poll() is None and time.time() < deadline, proc.communicate()
            time.sleep(0.05)
        with open(f"/proc/{proc.pid}/cmdline", "rb") as f:
            args = f.read().split(b"\0")
        assert b"--nproc-per-node" not in args and args[args.index(b"-n") + 1] == b"2"  # mpiexec's
        proc.send_signal(signal.SIGUSR1)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # let mpiexec end its ranks before it goes
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    assert proc.returncode == 0, err
    assert sorted(out.splitlines()) == ["USR1 0", "USR1 1"], out + err


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
    # srun --mpi=pmix: PMIx gives the rank, Slurm the rest.
    ({"PMIX_RANK": "3", "SLURM_PROCID": "3", "SLURM_STEP_ID": "0", "SLURM_STEP_NUM_TASKS": "4",
      "SLURM_NTASKS": "8", "SLURM_LOCALID": "1", "SLURM_NODEID": "1",
      "SLURM_STEP_TASKS_PER_NODE": "2(x2)"}, (3, 4, 1, 2)),
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
