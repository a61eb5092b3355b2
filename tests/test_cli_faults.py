"""`distgrad train` under faults, as subprocesses (under mpiexec for 2 ranks) with timeouts:
divergence, stop signals, corrupt or edited checkpoints, changed settings on resume, outputs
that cannot be written, leftovers of crashed writes. Synthetic data, a few dozen steps each."""
import os
import signal
import struct
import subprocess
import sys
import time

import numpy
import pytest

from distgrad.cli import build_parser, checkpoint
from distgrad.cli.metrics import read_metrics, run_title, smooth
from distgrad.cli.recipes import EXIT_NONFINITE, EXIT_PREEMPTED, EXIT_USAGE, RECIPES
from test_cli import MPIEXEC, env, train

BASE = ["--model", "mlp", "--dataset", "synthetic", "--train-samples", "1024",
        "--test-samples", "64", "--no-progress", "--batch-size", "32"]
DIVERGE = ["--optimizer", "sgd", "--lr", "1e30"]   # step 1 leaves huge weights: step 2 is NaN


def _command(args, ranks):
    cmd = [sys.executable, "-m", "distgrad", "train", *args]
    if ranks > 1:
        if MPIEXEC is None:
            pytest.skip("no mpiexec")
        cmd = [MPIEXEC, "-n", str(ranks), *cmd]
    return cmd


def _params(path):
    with numpy.load(path) as z:
        return {k: z[k] for k in z.files}


def _assert_bitwise(a, b):
    a, b = _params(a), _params(b)
    assert a.keys() == b.keys()
    for k in a:
        assert numpy.array_equal(a[k], b[k]), f"{k} differs"


# ------------------------------------------------------------------------- divergence --

@pytest.mark.parametrize("ranks", [1, 2])
def test_divergence_stops_with_its_code_and_keeps_finite_checkpoints(tmp_path, ranks):
    ckpt = tmp_path / "ckpt"
    r = train([*BASE, *DIVERGE, "--checkpoint-dir", str(ckpt), "--checkpoint-every", "1",
               "--keep-checkpoints", "1"], ranks=ranks, check=False)
    assert r.returncode == EXIT_NONFINITE, r.stdout + r.stderr
    assert "non-finite gradient (NaN or inf) in step 2 (epoch 1), first in parameter " \
           "'1.weight'" in r.stderr
    assert f"last good checkpoint: {ckpt}/checkpoint-000000001.json" in r.stderr
    assert "Traceback" not in r.stderr and "epoch 1/1" not in r.stdout
    step, state, _ = checkpoint.latest(ckpt)      # verifies both checksums
    assert step == 1
    assert all(numpy.isfinite(v).all() for v in state["model"].values())


def test_skip_mode_skips_then_stops_at_k_in_a_row():
    r = train([*BASE, *DIVERGE, "--on-nonfinite", "skip", "--max-skips", "3"], check=False)
    assert r.returncode == EXIT_NONFINITE
    assert "step 2 (epoch 1), first in parameter '1.weight': step skipped (1 in a row)" in r.stderr
    assert "step skipped (2 in a row)" in r.stderr
    assert "in step 4 (epoch 1)" in r.stderr and "3 non-finite steps in a row, --max-skips 3" in r.stderr


def test_a_nonfinite_checkpoint_is_never_written(tmp_path):
    good = {"model": {"w": numpy.ones(3, numpy.float32)}}
    checkpoint.save(tmp_path, 1, good, {}, keep=1)
    bad = {"model": {"w": numpy.array([1.0, numpy.nan, 2.0], numpy.float32)}}
    with pytest.raises(checkpoint.NonFiniteCheckpointError, match=r"state\.model\.w holds NaN"):
        checkpoint.save(tmp_path, 2, bad, {}, keep=1)
    assert checkpoint.latest(tmp_path)[0] == 1   # rotation did not delete the finite one


# ------------------------------------------------------------------------ stop signals --

def _rank_pids(marker):
    """pid of each rank (by PMI_RANK) whose command line holds ``marker``."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().split(b"\0")
            with open(f"/proc/{pid}/environ", "rb") as f:
                environ = dict(v.split(b"=", 1) for v in f.read().split(b"\0") if b"=" in v)
        except OSError:
            continue
        if marker.encode() in cmdline and b"-m" in cmdline and b"PMI_RANK" in environ:
            found[int(environ[b"PMI_RANK"])] = int(pid)
    return found


@pytest.mark.parametrize("ranks, sig, to", [
    (1, signal.SIGINT, "launcher"),
    (2, signal.SIGTERM, "launcher"),
    (2, signal.SIGUSR1, "rank 1"),     # one rank only: the ranks must still agree
])
def test_stop_signal_checkpoints_and_resume_is_bitwise(tmp_path, ranks, sig, to):
    args = [*BASE, "--model", "cnn", "--epochs", "2", "--train-samples", str(32 * ranks * 30)]
    reference = tmp_path / "reference.npz"
    train([*args, "--save-model", str(reference)], ranks=ranks)

    ckpt, metrics = tmp_path / "ckpt", tmp_path / "m.jsonl"
    run = [*args, "--checkpoint-dir", str(ckpt), "--metrics", str(metrics), "--log-every", "1"]
    proc = subprocess.Popen(_command(run, ranks), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env())
    deadline = time.time() + 120
    while not (metrics.exists() and '"step": 3,' in metrics.read_text()):
        assert proc.poll() is None and time.time() < deadline, proc.communicate()
        time.sleep(0.02)
    if to == "launcher":
        proc.send_signal(sig)
    else:
        os.kill(_rank_pids(str(ckpt))[1], sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == EXIT_PREEMPTED, out + err
    assert f"stopped by {sig.name} after step" in out
    stopped = int(out.split(f"stopped by {sig.name} after step ")[1].split(":")[0])
    assert (ckpt / f"checkpoint-{stopped:09d}.json").exists()
    assert stopped < 60    # it stopped mid-run, not at the end

    resumed = tmp_path / "resumed.npz"
    out = train([*run, "--resume", "--save-model", str(resumed)], ranks=ranks).stdout
    assert f"resumed from step {stopped}" in out
    _assert_bitwise(reference, resumed)
    steps = [r["step"] for r in read_metrics(metrics) if r["kind"] == "step"]
    assert steps == sorted(set(steps)) and steps[-1] == 60   # no step twice


# --------------------------------------------------------------------- checkpoints --

def _two_checkpoints(tmp_path):
    ckpt = tmp_path / "ckpt"
    train([*BASE, "--checkpoint-dir", str(ckpt), "--checkpoint-every", "10"])
    names = sorted(p.name for p in ckpt.glob("*.json"))
    assert names == ["checkpoint-000000020.json", "checkpoint-000000030.json",
                     "checkpoint-000000032.json"]
    return ckpt


def test_resume_falls_back_past_a_corrupt_and_an_edited_checkpoint(tmp_path):
    ckpt = _two_checkpoints(tmp_path)
    newest = ckpt / "checkpoint-000000032.npz"
    data = bytearray(newest.read_bytes())
    data[100] ^= 0xFF
    newest.write_bytes(bytes(data))
    edited = ckpt / "checkpoint-000000030.json"
    edited.write_text(edited.read_text().replace('"lr": 0.001', '"lr": 0.5'))
    r = train([*BASE, "--checkpoint-dir", str(ckpt), "--resume"])
    assert f"skipped {ckpt}/checkpoint-000000032.json: checkpoint {newest} is corrupt" in r.stderr
    assert f"skipped {edited}: checkpoint manifest {edited} was modified" in r.stderr
    assert "resumed from step 20" in r.stdout


def test_resume_with_no_valid_checkpoint_is_an_error(tmp_path):
    ckpt = _two_checkpoints(tmp_path)
    for manifest in ckpt.glob("*.json"):
        manifest.write_text("{broken")
    r = train([*BASE, "--checkpoint-dir", str(ckpt), "--resume"], check=False)
    assert r.returncode == EXIT_USAGE
    assert "none of the 3 checkpoint(s)" in r.stderr and "epoch 1/1" not in r.stdout


def test_leftovers_of_crashed_writes_are_cleaned_at_start(tmp_path):
    ckpt = _two_checkpoints(tmp_path)
    (ckpt / ".checkpoint-000000040.npz.x1y2.tmp").write_bytes(b"partial")
    (ckpt / "checkpoint-000000041.npz").write_bytes(b"no manifest")
    r = train([*BASE, "--checkpoint-dir", str(ckpt), "--resume"])
    assert "removed 2 file(s) left by interrupted checkpoint writes" in r.stdout
    assert not (ckpt / ".checkpoint-000000040.npz.x1y2.tmp").exists()
    assert not (ckpt / "checkpoint-000000041.npz").exists()


def test_changed_settings_on_resume_are_listed_and_the_schedule_stays_sensible(tmp_path):
    ckpt, metrics = tmp_path / "ckpt", tmp_path / "m.jsonl"
    common = [*BASE, "--checkpoint-dir", str(ckpt), "--metrics", str(metrics), "--log-every", "4"]
    train([*common, "--lr-schedule", "cosine"])
    r = train([*common, "--lr-schedule", "cosine", "--resume", "--epochs", "3", "--lr", "0.002"])
    assert "settings changed since the checkpoint" in r.stderr
    assert "lr 0.001 -> 0.002" in r.stderr and "epochs 1 -> 3" in r.stderr
    lrs = [r["lr"] for r in read_metrics(metrics) if r["kind"] == "step" and r["step"] > 32]
    assert lrs == sorted(lrs, reverse=True) and lrs[0] > 1e-3 and lrs[-1] < 1e-5
    # Settings that change what the run is are still refused, each named.
    r = train([*common, "--resume", "--seed", "1", "--batch-size", "16", "--lr", "0.01"],
              check=False)
    assert r.returncode == EXIT_USAGE
    assert "batch_size: checkpoint has 32, this run has 16" in r.stderr
    assert "seed: checkpoint has 0, this run has 1" in r.stderr
    assert "also changed, which resuming would allow: lr 0.002 -> 0.01" in r.stderr


# ---------------------------------------------------------- outputs checked up front --

@pytest.mark.parametrize("flag, path, message", [
    ("--checkpoint-dir", "{tmp}/file/ckpt", "--checkpoint-dir {tmp}/file/ckpt is not writable"),
    ("--save-model", "{tmp}/missing/model.npz", "the folder {tmp}/missing does not exist"),
    ("--metrics", "{tmp}/missing/m.jsonl", "the folder {tmp}/missing does not exist"),
])
def test_unwritable_outputs_fail_before_the_first_step(tmp_path, flag, path, message):
    (tmp_path / "file").write_text("a file, not a folder")
    path = path.format(tmp=tmp_path)
    start = time.monotonic()
    r = train([*BASE, flag, path], ranks=2, check=False)
    assert r.returncode == EXIT_USAGE
    assert message.format(tmp=tmp_path) in r.stderr
    assert "training mlp" not in r.stdout and "Traceback" not in r.stderr
    assert time.monotonic() - start < 60


def test_plot_without_matplotlib_fails_before_training(tmp_path):
    shim = tmp_path / "shim" / "matplotlib"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text("raise ImportError('no matplotlib here')")
    r = subprocess.run(_command([*BASE, "--plot", str(tmp_path / "p.png")], 1), text=True,
                       capture_output=True, timeout=120,
                       env=dict(env(), PYTHONPATH=str(tmp_path / "shim")))
    assert r.returncode == EXIT_USAGE and "--plot needs matplotlib" in r.stderr
    assert "training mlp" not in r.stdout


def test_resume_with_a_mistyped_directory_says_so(tmp_path):
    r = train([*BASE, "--checkpoint-dir", str(tmp_path / "typo"), "--resume"], check=False)
    assert r.returncode == EXIT_USAGE
    assert f"the checkpoint directory {tmp_path}/typo does not exist (mistyped?)" in r.stderr


def test_a_new_run_never_silently_truncates_metrics(tmp_path):
    metrics, empty = tmp_path / "m.jsonl", tmp_path / "empty"
    metrics.write_text('{"kind": "step", "step": 1, "loss": 1.0}\n')
    empty.mkdir()
    r = train([*BASE, "--metrics", str(metrics), "--checkpoint-dir", str(empty), "--resume"])
    assert f"--resume: no checkpoint in {empty} yet: starting from step 0" in r.stdout
    assert f"moved them to {metrics}.prev" in r.stdout
    assert (tmp_path / "m.jsonl.prev").read_text().startswith('{"kind": "step", "step": 1,')


# ------------------------------------------------------------ recipes, help, watching --

def test_help_shows_the_recipes_and_exit_codes(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--help"])
    text = capsys.readouterr().out
    assert f"cnn {RECIPES['cnn']['lr']}, mlp {RECIPES['mlp']['lr']}" in text
    assert "cnn: Adam, lr 0.003, batch 32/rank, 200 warm-up steps, cosine schedule" in text
    for code in (0, 1, 2, 3, 4, 75):
        assert f"\n  {code:>3}  " in text


def test_tensorboard_event_files_hold_the_scalars(tmp_path):
    pytest.importorskip("tensorboardX")
    from tensorboardX.proto import event_pb2
    train([*BASE, "--tensorboard", str(tmp_path / "tb"), "--log-every", "8"], ranks=2)
    tags = {}
    for path in (tmp_path / "tb").iterdir():
        data = path.read_bytes()
        while data:   # TFRecord: length, its crc, the event, its crc
            n, = struct.unpack("<Q", data[:8])
            event = event_pb2.Event.FromString(data[12:12 + n])
            data = data[12 + n + 4:]
            for value in event.summary.value:
                tags.setdefault(value.tag, []).append(event.step)
    assert tags["train/loss"] == [8, 16] and tags["test/accuracy"] == [16]
    assert {"train/lr", "train/samples_per_s", "comm/bytes_per_step",
            "comm/allreduce_seconds", "test/loss"} <= set(tags)


def test_plot_names_the_run_and_smooths_the_loss():
    assert smooth([1.0, 1.0, 1.0]) == pytest.approx([1.0, 1.0, 1.0])  # no pull towards 0
    s = smooth([0.0, 10.0] * 50)
    assert 4 < s[-1] < 6 and max(s[10:]) - min(s[10:]) < 2
    records = [{"kind": "run", "model": "cnn", "world_size": 2, "batch_size": 32,
                "dataset": "fashion-mnist"}]
    assert run_title(records) == "cnn, 2 ranks, batch 32/rank (fashion-mnist)"


def test_metrics_after_a_resume_hold_no_step_twice(tmp_path):
    from distgrad.cli.metrics import MetricsWriter
    path = tmp_path / "m.jsonl"
    writer = MetricsWriter(str(path), say=lambda msg: None)
    for step in (10, 20, 30):
        writer.write(kind="step", step=step, loss=1.0)
    writer.write(kind="epoch", step=30, epoch=1, test_accuracy=0.5)
    writer.write(kind="step", step=40, loss=1.0)
    writer.close()
    said = []
    # Resumed from a checkpoint of step 30 taken before epoch 1 was evaluated: the resumed run
    # writes the epoch record and step 40 again.
    MetricsWriter(str(path), resume_step=30, repeat_epoch=True, say=said.append).close()
    assert [(r["kind"], r["step"]) for r in read_metrics(path)] == [("step", 10), ("step", 20),
                                                                    ("step", 30)]
    assert said == [f"metrics: dropped 2 record(s) of {path} written after step 30, which "
                    "this run repeats"]
