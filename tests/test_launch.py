"""launch/mpirun.sh and launch/bind_gpu.sh: real MPI runs with the environment's mpiexec,
the command lines built for Open MPI (through a stand-in mpirun), which Python the wrapper
hands over to, and GPU binding; and the rules where they live, in distgrad.distributed.run."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from distgrad.distributed import run as launch

REPO = Path(__file__).resolve().parent.parent
MPIRUN = REPO / "launch" / "mpirun.sh"
BIND_GPU = REPO / "launch" / "bind_gpu.sh"
IN_VENV = sys.prefix != sys.base_prefix
VENV_MPIEXEC = Path(sys.prefix) / "bin" / "mpiexec"

# Variables the scripts read; each test starts without them so the host's settings cannot leak in.
_SCRUBBED = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_THREAD_LIMIT",
             "MPIEXEC", "VIRTUAL_ENV", "CUDA_VISIBLE_DEVICES", "DISTGRAD_GPUS_PER_NODE",
             "MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "SLURM_JOB_ID",
             "SLURM_NTASKS", "PBS_JOBID")


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    if IN_VENV:
        env["VIRTUAL_ENV"] = sys.prefix
    env.update(extra)
    return env


def _run(args, timeout=60, **extra):
    return subprocess.run([str(a) for a in args], env=_env(**extra), capture_output=True,
                          text=True, timeout=timeout)


def _cores():
    return int(subprocess.run(["nproc"], env=_env(), capture_output=True, text=True,
                              check=True).stdout)


@pytest.fixture
def fake_openmpi(tmp_path):
    """An ``mpirun`` that answers ``--version`` like Open MPI 4.1 and otherwise prints its
    arguments, one per line."""
    exe = tmp_path / "mpirun"
    exe.write_text('#!/bin/sh\n'
                   'if [ "$1" = --version ]; then echo "mpirun (Open MPI) 4.1.4"; exit 0; fi\n'
                   'printf "%s\\n" "$@"\n')
    exe.chmod(0o755)
    return exe


needs_venv_mpi = pytest.mark.skipif(
    not (IN_VENV and VENV_MPIEXEC.exists()),
    reason=f"needs mpiexec in the virtual environment running the tests ({VENV_MPIEXEC})")


@needs_venv_mpi
def test_two_ranks_with_one_thread_each():
    # One os.write per rank: print() may issue several writes, which the launcher can interleave.
    probe = ("import os, sys; from mpi4py import MPI; c = MPI.COMM_WORLD; "
             "os.write(1, ' '.join(map(str, ['RANK', c.Get_rank(), c.Get_size(), "
             "os.environ['OMP_NUM_THREADS'], os.environ['OPENBLAS_NUM_THREADS'], sys.prefix])).encode() + b'\\n')")
    # `python`, not sys.executable: the wrapper must put the venv's bin/ first on PATH.
    r = _run([MPIRUN, "-n", 2, "--", "python", "-c", probe], timeout=120)
    assert r.returncode == 0, r.stderr
    lines = sorted(line.split() for line in r.stdout.splitlines() if line.startswith("RANK"))
    threads = str(max(1, _cores() // 2))
    assert lines == [["RANK", "0", "2", threads, threads, sys.prefix],
                     ["RANK", "1", "2", threads, threads, sys.prefix]], r.stdout + r.stderr


@needs_venv_mpi
def test_uses_the_venv_mpiexec_and_divides_cores_among_ranks():
    r = _run([MPIRUN, "-n", 1, "--dry-run", "--", "python", "x.py"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [f"OMP_NUM_THREADS={_cores()}", str(VENV_MPIEXEC), "-n", "1",
                                "python", "x.py"]


@needs_venv_mpi
def test_keeps_the_users_thread_count():
    r = _run([MPIRUN, "-n", 2, "--", "sh", "-c", "echo T=$OMP_NUM_THREADS/$MKL_NUM_THREADS"],
             OMP_NUM_THREADS="3", timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["T=3/3", "T=3/3"]


def test_open_mpi_gets_forwarded_variables_and_oversubscribe(fake_openmpi):
    n = _cores() + 1
    r = _run([MPIRUN, "-n", n, "--gpus", "--", "python", "train.py"],
             MPIEXEC=str(fake_openmpi), DISTGRAD_DATA="/data", PYTHONPATH="/p")
    assert r.returncode == 0, r.stderr
    args = r.stdout.split("\n")
    assert args[:2] == ["-n", str(n)]
    assert "--oversubscribe" in args
    assert ("--allow-run-as-root" in args) == (os.geteuid() == 0)
    forwarded = {args[i + 1] for i, a in enumerate(args) if a == "-x"}
    assert {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "PATH", "PYTHONPATH",
            "DISTGRAD_DATA"} <= forwarded
    assert args[-4:] == [str(BIND_GPU), "python", "train.py", ""]


def test_ranks_default_to_the_slurm_allocation_then_the_cores(fake_openmpi):
    inside = _run([MPIRUN, "--", "true"], MPIEXEC=str(fake_openmpi), SLURM_JOB_ID="7",
                  SLURM_NTASKS="5")
    outside = _run([MPIRUN, "--", "true"], MPIEXEC=str(fake_openmpi))
    assert inside.stdout.split("\n")[:2] == ["-n", "5"], inside.stderr
    assert "--oversubscribe" not in inside.stdout.split("\n"), "Slurm places the ranks"
    assert outside.stdout.split("\n")[:2] == ["-n", str(_cores())], outside.stderr


def test_open_mpi_within_the_cores_is_not_oversubscribed(fake_openmpi):
    r = _run([MPIRUN, "-n", 1, "--", "true"], MPIEXEC=str(fake_openmpi))
    assert r.returncode == 0, r.stderr
    assert "--oversubscribe" not in r.stdout.split("\n")


def test_hostfile_reaches_open_mpi_as_it_is(fake_openmpi, tmp_path):
    hostfile = tmp_path / "hosts"
    hostfile.write_text("# two machines\nnode01 slots=4\nnode02 slots=2  # small one\n\n")
    r = _run([MPIRUN, "-n", 6, "--hostfile", hostfile, "--", "true"], MPIEXEC=str(fake_openmpi))
    assert r.returncode == 0, r.stderr
    args = r.stdout.split("\n")
    assert args[:4] == ["-n", "6", "--hostfile", str(hostfile)]
    assert "--oversubscribe" not in args  # the hostfile's slots decide


@needs_venv_mpi
def test_hostfile_reaches_hydra_as_it_is_and_divides_threads_by_machines():
    example = REPO / "launch" / "hostfile.example"
    r = _run([MPIRUN, "-n", 3, "--hostfile", example, "--dry-run", "--", "true"])
    assert r.returncode == 0, r.stderr
    words = r.stdout.split()
    assert words[1:] == [str(VENV_MPIEXEC), "-n", "3", "-f", str(example), "true"]
    assert words[0] == f"OMP_NUM_THREADS={_cores()}"  # 3 ranks on 3 machines: one each


def _shim(path, log):
    """An executable at ``path`` that notes its name on stderr and runs this Python."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\necho "{log} $0" >&2\nexec "{sys.executable}" "$@"\n')
    path.chmod(0o755)


@pytest.mark.parametrize("where", ["VIRTUAL_ENV", "project .venv", "python3"])
def test_python_is_the_environments_and_its_bin_goes_first_on_path(tmp_path, where):
    mpirun = tmp_path / "mpirun"  # prints the PATH the ranks would start with
    mpirun.write_text('#!/bin/sh\n'
                      'if [ "$1" = --version ]; then echo "mpirun (Open MPI) 4.1.4"; exit 0; fi\n'
                      'echo "PATH=$PATH"\n')
    mpirun.chmod(0o755)
    script, extra = MPIRUN, {}
    if where == "VIRTUAL_ENV":
        _shim(tmp_path / "venv" / "bin" / "python", "chose")
        extra["VIRTUAL_ENV"] = str(tmp_path / "venv")
        first = tmp_path / "venv" / "bin"
    elif where == "project .venv":
        first = REPO / ".venv" / "bin"
        if not (first / "python").exists():
            pytest.skip("this checkout has no .venv")
    else:  # a copy of the script with no .venv beside it: python3 from PATH, PATH unchanged
        shutil.copytree(REPO / "launch", tmp_path / "copy" / "launch")
        script = tmp_path / "copy" / "launch" / "mpirun.sh"
        _shim(tmp_path / "bin" / "python3", "chose")
        first = tmp_path / "bin"
        extra["PATH"] = f"{first}:{os.environ['PATH']}"
    env = _env(MPIEXEC=str(mpirun), **extra)
    if where != "VIRTUAL_ENV":
        env.pop("VIRTUAL_ENV", None)
    r = subprocess.run([str(script), "-n", "1", "--", "true"], env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"PATH={first}:"), r.stdout
    if where != "project .venv":
        assert f"chose {first}/python" in r.stderr
    if where == "python3":
        assert r.stdout.strip() == f"PATH={extra['PATH']}"  # nothing put in front


def test_verbose_shows_the_command_then_runs_it(fake_openmpi):
    r = _run([MPIRUN, "-n", 1, "-v", "--", "python", "train.py"], MPIEXEC=str(fake_openmpi),
             OMP_NUM_THREADS="3")
    assert r.returncode == 0, r.stderr
    shown = r.stderr.split()
    assert shown[:4] == ["+", "OMP_NUM_THREADS=3", str(fake_openmpi), "-n"]
    assert shown[-2:] == ["python", "train.py"]
    assert r.stdout.split("\n")[:2] == ["-n", "1"]  # and it ran


@pytest.mark.parametrize("args, message", [
    (["-n", "0", "--", "true"], "-n 0 is not a number of ranks"),
    (["-n", "2"], "no command given"),
    (["--bogus", "--", "true"], "unknown option '--bogus'"),
    (["-n", "2", "--hostfile", "/nonexistent/hosts", "--", "true"], "cannot be read"),
    (["--hostfile", str(REPO / "launch" / "hostfile.example"), "--", "true"], "--hostfile needs -n"),
])
def test_bad_arguments_are_explained(fake_openmpi, args, message):
    r = _run([MPIRUN, *args], MPIEXEC=str(fake_openmpi))
    assert r.returncode == 2
    assert message in r.stderr


@pytest.mark.parametrize("script", [MPIRUN, BIND_GPU])
def test_help(script):
    r = _run([script, "--help"])
    assert r.returncode == 0, r.stderr
    assert "Usage:" in r.stdout and "set -euo" not in r.stdout


_SHOW = ["sh", "-c", 'echo "${CUDA_VISIBLE_DEVICES-unset}"']


@pytest.mark.parametrize("variables, expected", [
    ({"MPI_LOCALRANKID": "3", "DISTGRAD_GPUS_PER_NODE": "2"}, "1"),
    ({"OMPI_COMM_WORLD_LOCAL_RANK": "2", "DISTGRAD_GPUS_PER_NODE": "4"}, "2"),
    ({"SLURM_LOCALID": "1", "CUDA_VISIBLE_DEVICES": "4,6,7"}, "6"),
    ({"SLURM_LOCALID": "5", "CUDA_VISIBLE_DEVICES": "GPU-a,GPU-b"}, "GPU-b"),
    # Under mpiexec inside Slurm the MPI's own local rank wins over the inherited SLURM_LOCALID.
    ({"MPI_LOCALRANKID": "1", "SLURM_LOCALID": "0", "DISTGRAD_GPUS_PER_NODE": "2"}, "1"),
    ({"DISTGRAD_GPUS_PER_NODE": "2"}, "0"),
    ({"MPI_LOCALRANKID": "1", "DISTGRAD_GPUS_PER_NODE": "0"}, "unset"),
])
def test_bind_gpu_by_local_rank(variables, expected):
    r = _run([BIND_GPU, *_SHOW], **variables)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == expected


def test_bind_gpu_rejects_a_bad_local_rank():
    r = _run([BIND_GPU, "true"], MPI_LOCALRANKID="x", DISTGRAD_GPUS_PER_NODE="2")
    assert r.returncode == 2
    assert "local rank 'x'" in r.stderr


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_scripts_are_shellcheck_clean():
    r = subprocess.run(["shellcheck", MPIRUN, BIND_GPU], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


# --------------------------------------------- the rules, in distgrad.distributed.run --

def _options(nproc, nnodes=1, hostfile=None, flavour="openmpi", environ=None):
    """What mpiexec_command puts between ``mpiexec -n N`` and the program."""
    cmd = launch.mpiexec_command(["prog"], nproc, nnodes=nnodes, hostfile=hostfile,
                                 mpiexec="mpirun", flavour=flavour,
                                 environ={} if environ is None else environ)
    assert cmd[:3] == ["mpirun", "-n", str(nproc * nnodes)] and cmd[-1] == "prog"
    return cmd[3:-1]


@pytest.mark.parametrize("root", [True, False])
def test_open_mpi_is_allowed_to_run_as_root(monkeypatch, root):
    monkeypatch.setattr(launch, "running_as_root", lambda: root)
    assert ("--allow-run-as-root" in _options(1)) == root
    env = launch.rank_environment(1, environ={}, flavour="openmpi")
    allowed = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
    assert {k: v for k, v in env.items() if k.startswith("OMPI_")} == (allowed if root else {})
    # Hydra has nothing to allow.
    assert "--allow-run-as-root" not in _options(1, flavour="hydra")
    assert "OMPI_ALLOW_RUN_AS_ROOT" not in launch.rank_environment(1, environ={}, flavour="hydra")


@pytest.mark.parametrize("nproc, nnodes, hostfile, environ, oversubscribed", [
    (3, 1, None, {}, True),                       # more ranks than this machine's 2 cores
    (2, 1, None, {}, False),                      # as many as it has
    (3, 1, "hosts", {}, False),                   # the hostfile's slots decide
    (3, 1, None, {"SLURM_JOB_ID": "7"}, False),   # the allocation decides
    (3, 1, None, {"PBS_JOBID": "7.pbs"}, False),
    (3, 1, None, {"SLURM_JOB_ID": ""}, True),     # empty: no job
    (3, 2, None, {}, False),                      # several nodes: not all on this machine
])
def test_open_mpi_oversubscribes_only_this_machine(monkeypatch, nproc, nnodes, hostfile, environ,
                                                   oversubscribed):
    monkeypatch.setattr(launch, "cores", lambda: 2)
    options = _options(nproc, nnodes, hostfile, environ=environ)
    assert ("--oversubscribe" in options) == oversubscribed
    assert "--oversubscribe" not in _options(nproc, nnodes, hostfile, "hydra", environ)


def test_open_mpi_forwards_what_is_set_and_hydra_needs_no_list(monkeypatch):
    monkeypatch.setattr(launch, "running_as_root", lambda: False)
    monkeypatch.setattr(launch, "cores", lambda: 4)
    environ = {"PATH": "/bin", "PYTHONPATH": "/p", "OMP_NUM_THREADS": "2", "HOME": "/root",
               "DISTGRAD_DATA": "/data", "DISTGRAD_DEVICE": "cpu", "MY_DISTGRAD_X": "1",
               "CUDA_VISIBLE_DEVICES": ""}
    env = launch.rank_environment(2, environ=environ, flavour="openmpi")
    options = _options(2, environ=env)
    assert options == ["-x", "OMP_NUM_THREADS", "-x", "OPENBLAS_NUM_THREADS",
                       "-x", "MKL_NUM_THREADS", "-x", "PATH", "-x", "PYTHONPATH",
                       "-x", "CUDA_VISIBLE_DEVICES", "-x", "DISTGRAD_DATA", "-x", "DISTGRAD_DEVICE"]
    assert _options(2, flavour="hydra", environ=env) == []


def test_open_mpi_placement_and_hostfile_as_given(monkeypatch):
    monkeypatch.setattr(launch, "running_as_root", lambda: False)
    assert _options(4, nnodes=2, hostfile="hosts") == ["--map-by", "ppr:4:node",
                                                       "--hostfile", "hosts"]
    assert _options(4, nnodes=2, hostfile="hosts", flavour="hydra") == ["-ppn", "4", "-f", "hosts"]


@pytest.mark.parametrize("environ, ranks, expected", [
    ({}, 3, ("2", "2", "2")),                                    # 8 cores // 3 ranks
    ({}, 16, ("1", "1", "1")),                                   # at least one
    ({"OMP_NUM_THREADS": "5"}, 2, ("5", "5", "5")),              # the caller's, followed
    ({"OMP_NUM_THREADS": "5", "MKL_NUM_THREADS": "1"}, 2, ("5", "5", "1")),
    ({"OMP_NUM_THREADS": ""}, 4, ("2", "2", "2")),               # empty: not chosen
])
def test_threads_are_the_cores_shared_among_a_machines_ranks(monkeypatch, environ, ranks,
                                                            expected):
    monkeypatch.setattr(launch, "cores", lambda: 8)
    env = launch.rank_environment(ranks, environ=dict(environ, RANK="0", WORLD_SIZE="1"))
    assert tuple(env[name] for name in launch.THREAD_VARIABLES) == expected
    assert "RANK" not in env and "WORLD_SIZE" not in env  # each rank learns its own


def test_ranks_per_machine_counts_the_hostfiles_machines(tmp_path):
    hosts = tmp_path / "hosts"
    hosts.write_text("# three machines\nnode01:4\n\nnode02 slots=2  # small\n  node03\n")
    assert launch.hostfile_machines(hosts) == 3
    assert launch.ranks_per_machine(7, hostfile=hosts) == 3
    assert launch.ranks_per_machine(6, hostfile=hosts) == 2
    assert launch.ranks_per_machine(6, environ={}) == 6
    assert launch.ranks_per_machine(4, nnodes=3, hostfile=hosts) == 4  # told: 4 per node
    # Inside a Slurm allocation mpiexec spreads the ranks over its nodes.
    slurm = {"SLURM_JOB_ID": "7", "SLURM_JOB_NUM_NODES": "2"}
    assert launch.ranks_per_machine(8, environ=slurm) == 4
    assert launch.ranks_per_machine(8, environ={"SLURM_JOB_ID": "7", "SLURM_NNODES": "4"}) == 2
    assert launch.ranks_per_machine(8, hostfile=hosts, environ=slurm) == 3  # the file decides
    assert launch.ranks_per_machine(8, environ={"SLURM_JOB_NUM_NODES": "2"}) == 8  # no job
    (tmp_path / "empty").write_text("# nobody\n\n")
    with pytest.raises(launch.LaunchError, match="lists no hosts"):
        launch.hostfile_machines(tmp_path / "empty")
    with pytest.raises(launch.LaunchError, match="cannot be read"):
        launch.hostfile_machines(tmp_path / "missing")


@pytest.mark.parametrize("environ, expected", [
    ({"SLURM_NTASKS": "5"}, 5), ({"SLURM_NTASKS": "0"}, 8), ({"SLURM_NTASKS": "x"}, 8), ({}, 8)])
def test_default_world_size_is_the_allocation_then_the_cores(monkeypatch, environ, expected):
    monkeypatch.setattr(launch, "cores", lambda: 8)
    assert launch.default_world_size(environ) == expected


@pytest.mark.parametrize("version, flavour, note", [
    ("mpirun (Open MPI) 4.1.4", "openmpi", False),
    ("prterun (open-mpi) 5.0.3", "openmpi", False),
    ("HYDRA build details:", "hydra", False),
    ("Intel(R) MPI Library for Linux* OS, Version 2021.9", "hydra", False),
    ("some other mpiexec 1.0", "hydra", True),
])
def test_flavour_from_version(tmp_path, capsys, version, flavour, note):
    exe = tmp_path / "mpiexec"
    exe.write_text(f"#!/bin/sh\necho '{version}' >&2\n")
    exe.chmod(0o755)
    assert launch.mpi_flavour(str(exe)) == flavour
    assert ("cannot tell which MPI" in capsys.readouterr().err) == note
