"""The Slurm templates: static checks always; with DISTGRAD_SLURM_TESTS=1 (as root, with apt-get)
the CPU template runs a tiny synthetic training twice on a real two-node Slurm cluster on this
machine: the CNN (its default model) with the default launcher (mpiexec inside the allocation),
the MLP through srun and Slurm's PMI-2 with the setting slurm/README.md gives for the mpich
wheel."""
import os
import random
import re
import shutil
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SLURM = REPO / "slurm"
TEMPLATES = ("mnist.sbatch", "mnist_gpu.sbatch")
JOB_TIMEOUT = 150  # seconds for both jobs together; each takes about 5 when all is well


@pytest.mark.parametrize("name", TEMPLATES)
def test_template_directives_come_before_any_command(name):
    # sbatch stops reading #SBATCH lines at the first command: later ones are silently ignored.
    lines = (SLURM / name).read_text().splitlines()
    first_command = next(i for i, line in enumerate(lines)
                         if line.strip() and not line.lstrip().startswith("#"))
    late = [line for line in lines[first_command:] if line.startswith("#SBATCH")]
    assert not late, f"{name}: #SBATCH lines after the first command are ignored: {late}"
    directives = [line.split()[1] for line in lines if line.startswith("#SBATCH")]
    for option in ("--nodes", "--ntasks-per-node", "--cpus-per-task", "--output"):
        assert any(d.startswith(option + "=") for d in directives), f"{name} lacks {option}"


@pytest.mark.parametrize("name", TEMPLATES)
def test_log_folder_exists(name):
    # A job whose --output folder is missing fails at once and writes nothing.
    output = next(line.split("=", 1)[1] for line in (SLURM / name).read_text().splitlines()
                  if line.startswith("#SBATCH --output="))
    assert (REPO / output).parent.is_dir(), f"{name} logs to {output}, whose folder is missing"


def test_body_refuses_to_run_outside_an_allocation():
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    env.update(DISTGRAD_HOME=str(REPO), DISTGRAD_MODEL="mlp")
    r = subprocess.run(["bash", SLURM / "run_distgrad.sh"], env=env, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode != 0
    assert "SLURM_JOB_ID" in r.stderr


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_scripts_are_shellcheck_clean():
    r = subprocess.run(["shellcheck", "-s", "bash", SLURM / "run_distgrad.sh",
                        *(SLURM / name for name in TEMPLATES)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


# --------------------------------------------------------- on a real cluster --

def _skip_reason():
    if os.environ.get("DISTGRAD_SLURM_TESTS") != "1":
        return "set DISTGRAD_SLURM_TESTS=1 to run the templates on a local Slurm cluster"
    if os.geteuid() != 0:
        return "the local Slurm cluster needs root"
    if shutil.which("apt-get") is None:
        return "the local Slurm cluster installs its Debian packages with apt-get"
    script = os.environ.get("LOCAL_SLURM_SH")
    if not script:
        return "LOCAL_SLURM_SH (the script that brings up a local Slurm cluster) is not set"
    if not Path(script).is_file():
        return f"LOCAL_SLURM_SH={script} does not exist"
    if not (Path(sys.prefix) / "bin" / "mpiexec").exists():
        return f"needs mpiexec in the virtual environment running the tests ({sys.prefix})"
    return None


def _free_port_block(count):
    """A port p with p..p+count-1 all free (slurmctld on p, slurmd i on p+i)."""
    for _ in range(50):
        base = random.randrange(20000, 60000)
        try:
            for port in range(base, base + count):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    pytest.fail("no block of free ports for the local Slurm cluster")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A two-node Slurm cluster of its own (own directory, ports and node names), torn down
    and deleted afterwards even when bringing it up failed; yields the clients' environment."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    script = os.environ["LOCAL_SLURM_SH"]
    state = tmp_path_factory.mktemp("slurm") / "cluster"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "LOCAL_SLURM_"))}
    env.update(LOCAL_SLURM_DIR=str(state), LOCAL_SLURM_NODES="2", LOCAL_SLURM_GPUS="1",
               LOCAL_SLURM_NODE_PREFIX=f"dg{random.randrange(16 ** 6):06x}n",
               LOCAL_SLURM_PORT=str(_free_port_block(3)), LOCAL_SLURM_MPI_DEFAULT="pmi2")
    # munged refuses a socket below a folder that others cannot traverse, as pytest's are:
    # let them traverse (not list) until the cluster is gone.
    traverse = stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH
    modes = {d: d.stat().st_mode for d in state.parents if d.stat().st_mode & traverse != traverse}
    try:
        for d, mode in modes.items():
            d.chmod(mode | traverse)
        up = subprocess.run(["bash", script, "up"], env=env, capture_output=True, text=True,
                            timeout=600)
        assert up.returncode == 0, f"local Slurm did not come up:\n{up.stdout}{up.stderr}"
        yield {**env, "SLURM_CONF": str(state / "etc" / "slurm.conf")}
    finally:
        subprocess.run(["bash", script, "down", "--purge"], env=env, capture_output=True,
                       timeout=120)
        for d, mode in modes.items():
            d.chmod(mode)


@pytest.fixture(scope="module")
def jobs(cluster, tmp_path_factory):
    """Submit the CPU template twice at once, the CNN by mpiexec and the MLP by srun (2 nodes x
    1 rank, a few synthetic batches), and wait for both; returns name -> (sbatch exit status,
    the job's log)."""
    out = tmp_path_factory.mktemp("jobs")
    settings = {
        # The wheel's UCX layer can send PMI lines longer than Slurm's pmi2 plugin reads.
        "mlp": ({"DISTGRAD_MODEL": "mlp", "DISTGRAD_LAUNCHER": "srun",
                 "MPIR_CVAR_CH4_NETMOD": "ofi"}, ["--gpus-per-task=1"]),
        "cnn": ({}, []),
    }
    running = {}
    for name, (variables, options) in settings.items():
        # The templates' defaults are under test: no setting of the caller leaks in.
        env = {k: v for k, v in cluster.items()
               if not k.startswith(("DISTGRAD_", "MPIR_CVAR_")) and k != "CUDA_VISIBLE_DEVICES"}
        env.update(variables)
        env.update(DISTGRAD_DATASET="synthetic",
                   DISTGRAD_EPOCHS="1", DISTGRAD_BATCH_SIZE="32",
                   DISTGRAD_ARGS="--train-samples 128 --test-samples 64",
                   DISTGRAD_VENV=sys.prefix, DISTGRAD_RUN_DIR=str(out / name / "run"))
        log = out / f"{name}.out"
        # Submitted from the repository root, as the README says; only the log is redirected.
        cmd = ["sbatch", "--wait", "--nodes=2", "--ntasks-per-node=1", "--cpus-per-task=1",
               "--time=3", f"--output={log}", *options, str(SLURM / "mnist.sbatch")]
        running[name] = (subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                                          stderr=subprocess.STDOUT, text=True), log)
    results = {}
    deadline = time.monotonic() + JOB_TIMEOUT
    for name, (proc, log) in running.items():
        try:
            sbatch_out, _ = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()  # the cluster's teardown cancels the job itself
            sbatch_out, _ = proc.communicate()
        text = log.read_text() if log.exists() else "(no log written)"
        results[name] = (proc.returncode, f"{sbatch_out}\n--- {log}\n{text}")
    return results


def _check_finished_on_two_ranks(result):
    status, log = result
    assert status == 0, f"the job failed:\n{log}"
    assert re.search(r"^world size:\s*2$", log, re.M), f"distgrad info saw no 2 ranks:\n{log}"
    layout = re.findall(r"^rank (\d): node (\S+) ", log, re.M)
    assert sorted(r for r, _ in layout) == ["0", "1"], f"no rank layout for 2 ranks:\n{log}"
    assert len({node for _, node in layout}) == 2, f"the 2 ranks did not run on 2 nodes:\n{log}"
    assert re.search(r"epoch.*loss.*test accuracy", log, re.I), f"no epoch line:\n{log}"
    assert re.search(r"^done:", log, re.M), f"no finished-run line:\n{log}"
    return log


def test_template_trains_the_mlp_with_srun_pmi2(jobs):
    log = _check_finished_on_two_ranks(jobs["mlp"])
    assert "--model mlp" in log
    assert "srun --mpi=pmi2 --kill-on-bad-exit=1" in log
    # One fake GPU per node: each rank is bound to it by its local rank.
    assert len(re.findall(r"^rank \d: .*CUDA_VISIBLE_DEVICES=0$", log, re.M)) == 2, log


def test_template_trains_the_cnn_with_the_default_mpiexec_in_the_allocation(jobs):
    log = _check_finished_on_two_ranks(jobs["cnn"])
    assert "--model cnn" in log  # the template's default model
    assert "launch/mpirun.sh -n 2" in log
    assert len(re.findall(r"^rank \d: .*CUDA_VISIBLE_DEVICES=\(unset\)$", log, re.M)) == 2, log


# ------------------------------------------------ time limit, requeue, resume --

REQUEUE_TIMEOUT = 480  # seconds for the whole requeued job; about 150 when all is well


def _job_field(env, job, name):
    out = subprocess.run(["scontrol", "show", "job", job], env=env, capture_output=True,
                         text=True, timeout=30).stdout
    found = re.search(rf"\b{name}=(\S*)", out)
    return found.group(1) if found else "", out


def _nodes_idle(env):
    """True when every node of the cluster is idle (none still completing a job)."""
    out = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], env=env, capture_output=True,
                         text=True, timeout=30).stdout.split()
    return bool(out) and all(state == "idle" for state in out)


def test_time_limited_job_finishes_through_requeues_bitwise(cluster, tmp_path):
    """A CNN job with a 1-minute limit and more training than that (1,200 steps, 70-80 s
    here): SIGUSR1 before the limit makes the ranks checkpoint and exit 75, the job requeues
    itself and resumes, as often as needed; its final parameters equal an uninterrupted run's
    bit for bit. The test sends SIGUSR1 itself while the first start still runs its checks
    and during the second start's training."""
    import numpy
    args = ["--dataset", "synthetic", "--epochs", "2", "--batch-size", "64",
            "--train-samples", "76800", "--test-samples", "64"]
    reference = tmp_path / "reference.npz"
    local = {k: v for k, v in os.environ.items()
             if not k.startswith(("SLURM_", "PMI", "DISTGRAD_"))}
    local.update(OMP_NUM_THREADS="1")
    ref = subprocess.run([str(Path(sys.prefix) / "bin" / "mpiexec"), "-n", "2", sys.executable,
                          "-m", "distgrad", "train", "--model", "cnn", *args, "--no-progress",
                          "--save-model", str(reference)], cwd=REPO, env=local,
                         capture_output=True, text=True, timeout=300)
    assert ref.returncode == 0, ref.stdout + ref.stderr

    env = {k: v for k, v in cluster.items()
           if not k.startswith(("DISTGRAD_", "MPIR_CVAR_")) and k != "CUDA_VISIBLE_DEVICES"}
    run_dir, log = tmp_path / "run", tmp_path / "job.out"
    env.update(DISTGRAD_DATASET="synthetic", DISTGRAD_EPOCHS="2", DISTGRAD_BATCH_SIZE="64",
               DISTGRAD_ARGS=f"--train-samples 76800 --test-samples 64 --log-every 50 "
                             f"--save-model {run_dir}/model.npz",
               DISTGRAD_VENV=sys.prefix, DISTGRAD_RUN_DIR=str(run_dir))
    # Jobs that just ended (the templates' runs) may leave the nodes completing: a job
    # launched there fails at launch, so wait until they are idle.
    settle, idle_polls = time.monotonic() + 60, 0
    while idle_polls < 3 and time.monotonic() < settle:
        idle_polls = idle_polls + 1 if _nodes_idle(env) else 0
        time.sleep(2)
    submit = subprocess.run(["sbatch", "--parsable", "--nodes=2", "--ntasks-per-node=1",
                             "--cpus-per-task=1", "--time=1", "--signal=B:USR1@45",
                             f"--output={log}", str(SLURM / "mnist.sbatch")],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert submit.returncode == 0, submit.stderr
    job = submit.stdout.strip().split(";")[0]
    deadline = time.monotonic() + REQUEUE_TIMEOUT

    def signal_job():
        subprocess.run(["scancel", "--signal=USR1", "--batch", job], env=env,
                       capture_output=True, timeout=30)

    # Two signals from the test, whatever Slurm's own timer does: one while the first start
    # still runs its checks (Slurm may send the time-limit signal up to a minute early; the
    # checks take a second or two, so the log is watched closely), and one during training
    # (the machine may train faster than the limit).
    while time.monotonic() < deadline and not (log.exists() and "== rank layout" in
                                               log.read_text()):
        time.sleep(0.05)
    signal_job()
    sent, state, idle_polls = 1, "", 0
    while time.monotonic() < deadline:
        text = log.read_text() if log.exists() else ""
        if sent == 1 and re.search(r"^resumed from step|^training ", text.split("start 2")[-1]
                                   if "start 2" in text else "", re.M):
            signal_job()
            sent += 1
        state, _ = _job_field(env, job, "JobState")
        if state in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY"):
            break
        held = state == "PENDING" and _job_field(env, job, "Reason")[0] == "BeginTime"
        idle_polls = idle_polls + 1 if held and _nodes_idle(env) else 0
        if idle_polls >= 3:
            # Slurm holds a requeued job for two minutes; the test need not wait for that. But
            # it waits until the nodes have been idle for a few seconds: a job started on a node
            # still finishing the last start fails at launch (exit 1, no output).
            subprocess.run(["scontrol", "update", f"JobId={job}", "StartTime=now"], env=env,
                           capture_output=True, timeout=30)
            idle_polls = 0
        time.sleep(2)
    text = log.read_text() if log.exists() else "(no log)"
    restarts, details = _job_field(env, job, "Restarts")
    assert state == "COMPLETED", f"job {job} ended {state!r}:\n{details}\n{text}"
    assert int(restarts) >= 1, f"the job was never requeued:\n{text}"
    assert sent == 2, text
    first = text.split("== job")[1]
    assert "came before training started: not starting it" in first, text
    assert "stopped by SIGUSR1 after step" in text and "requeueing job" in text, text
    assert re.search(r"^resumed from step \d+", text, re.M), text
    assert re.search(r"^done: 1200 steps", text, re.M), text
    with numpy.load(reference) as a, numpy.load(run_dir / "model.npz") as b:
        assert sorted(a.files) == sorted(b.files)
        for k in a.files:
            assert numpy.array_equal(a[k], b[k]), f"{k} differs from the uninterrupted run"
