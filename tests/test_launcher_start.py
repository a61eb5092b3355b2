"""distgrad/launcher.py as each rank's start under ``distgrad run``: the program then runs as
``python SCRIPT``, ``python -m MODULE`` or the executable itself would, with torchrun's
variables set (here from a stand-in MPICH environment; no MPI is started)."""
import os
import subprocess
import sys

import distgrad.launcher

LAUNCHER = distgrad.launcher.__file__
RANK_TWO_OF_FOUR = {"PMI_RANK": "2", "PMI_SIZE": "4", "MPI_LOCALRANKID": "0",
                    "MPI_LOCALNRANKS": "2"}
PROBE = ("import os, sys\n"
         "print(os.environ['RANK'], os.environ['WORLD_SIZE'], os.environ['LOCAL_RANK'],\n"
         "      __name__, os.path.isabs(__file__), sys.path[0], *sys.argv, sep='|')\n")


def _start(args, tmp_path, python_flags=(), **extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")}
    env.update(RANK_TWO_OF_FOUR, **extra)
    return subprocess.run([sys.executable, *python_flags, LAUNCHER, *args], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=60)


def test_a_script_runs_as_python_script_would(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "probe.py").write_text(PROBE)
    done = _start(["pkg/probe.py", "a", "b"], tmp_path)
    assert done.returncode == 0, done.stderr
    rank, world, local, name, absolute, path0, *argv = done.stdout.strip().split("|")
    assert (rank, world, local, name, absolute) == ("2", "4", "0", "__main__", "True")
    # argv[0] names the script by its absolute path, as __file__ does (runpy sets both).
    assert path0 == str(tmp_path / "pkg") and argv == [str(tmp_path / "pkg" / "probe.py"),
                                                       "a", "b"]


def test_a_module_runs_as_python_m_would(tmp_path):
    (tmp_path / "probe.py").write_text(PROBE)
    done = _start(["-m", "probe", "x"], tmp_path)
    assert done.returncode == 0, done.stderr
    rank, _, _, name, _, path0, *argv = done.stdout.strip().split("|")
    assert (rank, name, path0) == ("2", "__main__", str(tmp_path))
    assert argv[1:] == ["x"]


def test_safe_path_keeps_the_users_search_path(tmp_path):
    # python -P puts no script folder first: the launcher must not overwrite PYTHONPATH's entry.
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "mylib.py").write_text("VALUE = 7\n")
    (tmp_path / "s.py").write_text("import mylib\nprint(mylib.VALUE)\n")
    done = _start(["s.py"], tmp_path, python_flags=("-P",), PYTHONPATH=str(tmp_path / "lib"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "7"


def test_exit_codes_and_failures_come_through(tmp_path):
    (tmp_path / "three.py").write_text("raise SystemExit(3)\n")
    (tmp_path / "boom.py").write_text("raise ValueError('boom')\n")
    assert _start(["three.py"], tmp_path).returncode == 3
    boom = _start(["boom.py"], tmp_path)
    assert boom.returncode == 1 and "ValueError: boom" in boom.stderr
    missing = _start(["--exec", "no-such-program-here"], tmp_path)
    assert missing.returncode == 127
    assert "cannot start no-such-program-here" in missing.stderr
    usage = _start(["-m"], tmp_path)
    assert usage.returncode == 1 and "usage:" in usage.stderr


def test_an_executable_finds_the_variables(tmp_path):
    done = _start(["--exec", "sh", "-c", "echo $RANK/$WORLD_SIZE/$LOCAL_WORLD_SIZE"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2/4/2"
