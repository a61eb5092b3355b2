"""`distgrad train` / `distgrad info` end to end on synthetic data, one rank and two, and
kill-then-resume giving bitwise the parameters of an uninterrupted run."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy
import pytest

from distgrad.cli import build_parser

MPIEXEC = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or shutil.which("mpiexec")
QUICK = ["--dataset", "synthetic", "--train-samples", "1024", "--test-samples", "300", "--no-progress"]


def env():
    e = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    e.pop("DISTGRAD_DATA", None)
    return e


def train(args, ranks=1, timeout=240, check=True):
    cmd = [sys.executable, "-m", "distgrad", "train", *args]
    if ranks > 1:
        if MPIEXEC is None:
            pytest.skip("no mpiexec")
        cmd = [MPIEXEC, "-n", str(ranks), *cmd]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env())
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_parser_rejects_bad_values():
    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--epochs", "0"])
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--model", "resnet"])
    args = parser.parse_args(["train", "--model", "mlp", "--accumulate", "2"])
    assert args.model == "mlp" and args.accumulate == 2 and args.progress


def test_run_parser_keeps_torchruns_options_and_counts_np(monkeypatch):
    from distgrad.cli.run import _layout
    from distgrad.distributed.run import LaunchError
    parser = build_parser()
    args = parser.parse_args(["run", "--nproc_per_node", "2", "--nnodes", "1:3", "--master-port",
                              "29500", "train.py", "--lr", "0.1"])
    assert _layout(args) == (2, 3) and args.script_args == ["--lr", "0.1"]
    assert _layout(parser.parse_args(["run", "train.py"])) == (1, 1)
    monkeypatch.setenv("SLURM_NTASKS", "6")
    args = parser.parse_args(["run", "--np", "auto", "--no-python", "hostname", "-s"])
    assert _layout(args) == (6, 1) and args.no_python and args.script_args == ["-s"]
    with pytest.raises(LaunchError, match="--np counts all the ranks"):
        _layout(parser.parse_args(["run", "--np", "4", "--nproc-per-node", "2", "train.py"]))
    with pytest.raises(SystemExit):
        parser.parse_args(["run", "--np", "0", "train.py"])


def test_one_rank_end_to_end_with_metrics_and_plot(tmp_path):
    metrics = tmp_path / "m.jsonl"
    out = train(["--model", "mlp", "--epochs", "2", "--metrics", str(metrics), "--log-every", "4",
                 "--lr-schedule", "cosine", "--warmup-steps", "3", "--batch-size", "64",
                 *QUICK]).stdout
    assert "epoch 2/2" in out and "done: 32 steps" in out
    records = [json.loads(line) for line in metrics.read_text().splitlines()]
    steps = [r for r in records if r["kind"] == "step"]
    epochs = [r for r in records if r["kind"] == "epoch"]
    assert [r["step"] for r in steps] == [4, 8, 12, 16, 20, 24, 28, 32]
    assert set(steps[0]) >= {"step", "epoch", "loss", "lr", "samples_per_s"}
    assert [e["epoch"] for e in epochs] == [1, 2] and epochs[-1]["test_accuracy"] > 0.9
    assert steps[-1]["lr"] < steps[2]["lr"]  # cosine decays after warm-up
    pytest.importorskip("matplotlib")
    plot = tmp_path / "curves.png"
    train(["--model", "mlp", "--plot", str(plot), *QUICK])
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_two_ranks_match_accuracy_exactly_counted(tmp_path):
    out = train(["--model", "mlp", "--epochs", "1", "--batch-size", "32", *QUICK], ranks=2).stdout
    assert "with 2 rank(s)" in out and "(300 samples)" in out and "done:" in out


def test_gradient_accumulation_and_clipping_run(tmp_path):
    out = train(["--model", "mlp", "--accumulate", "2", "--batch-size", "16", "--grad-clip", "1.0",
                 "--optimizer", "sgd", "--lr", "0.05", *QUICK]).stdout
    assert "done: 32 steps" in out


def _final_params(path):
    with numpy.load(path) as z:
        return {k: z[k] for k in z.files}


@pytest.mark.parametrize("ranks", [1, 2])
def test_killed_run_resumes_to_bitwise_identical_parameters(tmp_path, ranks):
    args = ["--model", "cnn", "--epochs", "2", "--batch-size", "16", "--dataset", "synthetic",
            "--train-samples", str(16 * ranks * 12), "--test-samples", "64", "--no-progress"]
    reference = tmp_path / "reference.npz"
    train([*args, "--save-model", str(reference)], ranks=ranks)

    ckpt = tmp_path / "ckpt"
    cmd = [sys.executable, "-m", "distgrad", "train", *args, "--checkpoint-dir", str(ckpt),
           "--checkpoint-every", "5"]
    if ranks > 1:
        cmd = [MPIEXEC, "-n", str(ranks), *cmd]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env(),
                            start_new_session=True)
    deadline = time.time() + 180
    while not (ckpt / "checkpoint-000000010.json").exists():
        assert proc.poll() is None and time.time() < deadline, "run ended before its 2nd checkpoint"
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)  # mid-run, between or during checkpoint writes
    proc.wait()
    resumed = tmp_path / "resumed.npz"
    out = train([*args, "--checkpoint-dir", str(ckpt), "--checkpoint-every", "5", "--resume",
                 "--save-model", str(resumed)], ranks=ranks).stdout
    assert "resumed from step" in out
    a, b = _final_params(reference), _final_params(resumed)
    assert a.keys() == b.keys()
    for k in a:
        assert numpy.array_equal(a[k], b[k]), f"{k} differs after resume"


def test_resume_refuses_another_configuration(tmp_path):
    ckpt = tmp_path / "ckpt"
    train(["--model", "mlp", "--batch-size", "64", "--checkpoint-dir", str(ckpt), *QUICK])
    result = train(["--model", "mlp", "--batch-size", "32", "--checkpoint-dir", str(ckpt),
                    "--resume", *QUICK], check=False)
    assert result.returncode != 0
    assert "batch_size: checkpoint has 64, this run has 32" in result.stderr


def test_missing_data_set_gives_the_clear_error(tmp_path):
    result = subprocess.run([sys.executable, "-m", "distgrad", "train", "--dataset", "mnist",
                             "--data-dir", str(tmp_path), "--no-progress", "--no-download"],
                            capture_output=True, text=True, timeout=120,
                            env=dict(env(), HOME=str(tmp_path)))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "DISTGRAD_DATA" in result.stderr


def test_info_reports_versions_and_ranks():
    out = subprocess.run([sys.executable, "-m", "distgrad", "info"], capture_output=True,
                         text=True, timeout=60, env=env()).stdout
    assert "distgrad:" in out and "numpy:" in out and "world size:  1" in out
    if MPIEXEC:
        out = subprocess.run([MPIEXEC, "-n", "2", sys.executable, "-m", "distgrad", "info"],
                             capture_output=True, text=True, timeout=60, env=env()).stdout
        assert "MPI library:" in out and "rank 1:" in out


@pytest.mark.skipif(not os.environ.get("DISTGRAD_DATA"), reason="DISTGRAD_DATA is not set")
def test_short_real_data_run_reaches_a_sane_accuracy(tmp_path):
    """Fashion-MNIST from $DISTGRAD_DATA: an MLP on 6,000 images for one epoch."""
    e = dict(env(), DISTGRAD_DATA=os.environ["DISTGRAD_DATA"])
    result = subprocess.run([sys.executable, "-m", "distgrad", "train", "--model", "mlp",
                             "--dataset", "fashion-mnist", "--train-samples", "6000",
                             "--no-progress", "--no-download", "--metrics", str(tmp_path / "m.jsonl")],
                            capture_output=True, text=True, timeout=300, env=e)
    assert result.returncode == 0, result.stderr
    epoch = [json.loads(line) for line in (tmp_path / "m.jsonl").read_text().splitlines()][-1]
    assert epoch["kind"] == "epoch" and epoch["test_accuracy"] > 0.75
    assert "(10000 samples)" in result.stdout


def test_device_cuda_without_a_gpu_is_a_clear_error():
    import distgrad
    if distgrad.cuda.is_available():
        pytest.skip("a GPU is visible")
    result = train(["--device", "cuda", *QUICK], check=False)
    assert result.returncode == 2 and "no GPU is visible" in result.stderr
    assert "Traceback" not in result.stderr
