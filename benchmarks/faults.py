"""The fault table of RELIABILITY.md: 2-rank `distgrad train` runs (CNN, synthetic data) with a
fault injected, timing each from the fault to the job's exit.

    python benchmarks/faults.py            # prints a Markdown table

Steps lost = steps the next `--resume` repeats (done before the fault but after the checkpoint
it resumes from).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MPIEXEC = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or "mpiexec"
BASE = ["--model", "cnn", "--dataset", "synthetic", "--train-samples", "38400",
        "--test-samples", "64", "--batch-size", "32", "--no-progress", "--log-every", "1"]


def env():
    e = {k: v for k, v in os.environ.items() if not k.startswith(("PMI", "DISTGRAD_"))}
    e.update(OMP_NUM_THREADS="1", PYTHONPATH=REPO)
    return e


def command(args, ranks=2):
    cmd = [sys.executable, "-m", "distgrad", "train", *BASE, *args]
    return [MPIEXEC, "-n", str(ranks), *cmd] if ranks > 1 else cmd


def last_step(metrics):
    steps = [json.loads(line)["step"] for line in open(metrics)
             if line.strip().endswith("}") and '"kind": "step"' in line]
    return steps[-1] if steps else 0


def rank_pid(marker, rank):
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read()
            environ = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
        except OSError:
            continue
        if marker.encode() in cmdline and f"PMI_RANK={rank}".encode() in environ:
            return int(pid)
    raise RuntimeError(f"no rank {rank} found")


def injected(tmp, inject, extra=(), ranks=2, after_step=40):
    """Start a run, inject the fault once it logged ``after_step``; return a row's figures."""
    ckpt, metrics = os.path.join(tmp, "ckpt"), os.path.join(tmp, "m.jsonl")
    args = ["--checkpoint-dir", ckpt, "--checkpoint-every", "25", "--metrics", metrics, *extra]
    proc = subprocess.Popen(command(args, ranks), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env(), start_new_session=True)
    while not (os.path.exists(metrics) and last_step(metrics) >= after_step):
        if proc.poll() is not None:
            raise RuntimeError(proc.communicate())
        time.sleep(0.005)
    at = last_step(metrics)
    t0 = time.monotonic()
    inject(proc, ckpt)
    out, err = proc.communicate(timeout=300)
    seconds = time.monotonic() - t0
    saved = sorted(n for n in os.listdir(ckpt) if n.endswith(".json"))
    resumed_from = int(saved[-1][11:20]) if saved else 0
    return seconds, max(0, at - resumed_from), proc.returncode, out, err


def row(case, seconds, lost, outcome):
    print(f"| {case} | {seconds} | {lost} | {outcome} |", flush=True)


def main():
    print("| case | s from fault to exit | steps lost | outcome |")
    print("| --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        def fresh():
            return tempfile.mkdtemp(dir=tmp)

        s, lost, rc, _, _ = injected(fresh(), lambda p, c: os.kill(rank_pid(c, 1), signal.SIGKILL))
        row("`kill -9` of rank 1 (checkpoint every 25 steps)", f"{s:.2f}", lost,
            f"exit {rc}; resume from the last checkpoint is bitwise")
        for name, sig, target in (("SIGTERM to mpiexec (Slurm limit, scancel)", signal.SIGTERM, None),
                                  ("SIGUSR1 to rank 1 only", signal.SIGUSR1, 1),
                                  ("SIGINT (Ctrl-C) to mpiexec", signal.SIGINT, None)):
            def send(p, c, sig=sig, target=target):
                os.kill(rank_pid(c, target) if target is not None else p.pid, sig)
            s, lost, rc, out, _ = injected(fresh(), send)
            stop = out.split("after step ")[1].split(":")[0] if "after step" in out else "?"
            row(name, f"{s:.2f}", lost, f"exit {rc}; stopped after step {stop}, checkpoint "
                "there, resume bitwise")
        s, lost, rc, _, err = injected(fresh(), lambda p, c: os.kill(rank_pid(c, 1), signal.SIGSTOP),
                                       extra=["--watchdog-timeout", "5"])
        named = "names rank 1" if "Rank 1 did not arrive" in err else "RANK NOT NAMED"
        row("SIGSTOP of rank 1 (watchdog timeout 5 s)", f"{s:.2f}", lost,
            f"exit {rc}; watchdog message {named}")
        # Divergence: the fault is the first non-finite step (step 2 with lr 1e30).
        d = fresh()
        start = time.monotonic()
        r = subprocess.run(command(["--optimizer", "sgd", "--lr", "1e30", "--checkpoint-dir",
                                    os.path.join(d, "ckpt"), "--checkpoint-every", "1"]),
                           capture_output=True, text=True, env=env(), timeout=300)
        said = r.stderr.split("error: ")[-1].split(";")[0].strip()
        row("gradients turn NaN (SGD lr 1e30: step 2)", f"< {time.monotonic() - start:.2f} "
            "(whole run)", 0, f"exit {r.returncode}: \"{said}\"; checkpoint of step 1 kept")
        for case, args in (("unwritable --checkpoint-dir", ["--checkpoint-dir", "/proc/nope"]),
                           ("--save-model in a missing folder", ["--save-model", "/nonexistent/m.npz"]),
                           ("--resume with a mistyped --checkpoint-dir",
                            ["--resume", "--checkpoint-dir", os.path.join(tmp, "typo")])):
            start = time.monotonic()
            r = subprocess.run(command(args), capture_output=True, text=True, env=env(), timeout=300)
            trained = "trained nothing" if "training cnn" not in r.stdout else "TRAINED"
            row(case, f"{time.monotonic() - start:.2f} (whole run)", 0,
                f"exit {r.returncode} before the first step; {trained}")


if __name__ == "__main__":
    main()
