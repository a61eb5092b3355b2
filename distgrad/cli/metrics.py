"""Run metrics: JSON lines written by rank 0, and loss/accuracy curves as a PNG."""
import json
import math
import os

from ..atomic import write_atomic


class MetricsWriter:
    """Append one JSON object per line to ``path`` (only where ``enabled``: rank 0).

    Each line is flushed as it is written, so a killed run keeps everything up to its last
    step. A run resumed at step ``resume_step`` first drops the records written after that
    step (a killed run wrote them, and the resumed run writes them again), so no step appears
    twice; with ``repeat_epoch`` also the epoch record at ``resume_step`` (the resumed run
    evaluates that epoch again). A new run never silently truncates an existing file: it moves it to
    ``<path>.prev`` and ``say``s so.
    """

    def __init__(self, path, enabled=True, resume_step=None, say=print, repeat_epoch=False):
        self.path = path if enabled else None
        self._file = None
        if not self.path:
            return
        old = read_metrics(path) if os.path.exists(path) else []
        if resume_step is not None:
            kept = [r for r in old if r.get("step", 0) < resume_step or (
                r.get("step", 0) == resume_step and not (repeat_epoch and r.get("kind") == "epoch"))]
            if len(kept) != len(old):
                write_atomic(path, lambda f: f.write("".join(
                    json.dumps(r) + "\n" for r in kept).encode()))
                say(f"metrics: dropped {len(old) - len(kept)} record(s) of {path} written "
                    f"after step {resume_step}, which this run repeats")
            self._file = open(path, "a")
            return
        if old:
            os.replace(path, path + ".prev")
            say(f"metrics: {path} held {len(old)} record(s) of an earlier run; moved them to "
                f"{path}.prev")
        self._file = open(path, "w")

    def write(self, **record):
        """Write ``record`` as one line."""
        if self._file is not None:
            self._file.write(json.dumps(record) + "\n")
            self._file.flush()

    def close(self):
        """Close the file."""
        if self._file is not None:
            self._file.close()
            self._file = None


def read_metrics(path):
    """The records of a metrics file, as dicts (a line cut short by a kill is skipped)."""
    records = []
    with open(path) as f:
        for line in f:
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
    return records


def smooth(values, weight=0.9):
    """Exponential moving average with bias correction (TensorBoard's smoothing): the first
    points are not pulled towards zero."""
    out, average = [], 0.0
    for i, v in enumerate(values, start=1):
        average = weight * average + (1 - weight) * v
        out.append(average / (1 - weight ** i))
    return out


def run_title(records):
    """"cnn, 2 ranks, batch 64/rank (fashion-mnist)" from the run's first ``run`` record."""
    run = next((r for r in records if r.get("kind") == "run"), None)
    if run is None:
        return "distgrad train"
    ranks = run.get("world_size", 1)
    return (f"{run.get('model')}, {ranks} rank{'s' if ranks != 1 else ''}, batch "
            f"{run.get('batch_size')}/rank ({run.get('dataset')})")


def require_matplotlib():
    """Import matplotlib's Agg backend, or raise a RuntimeError that says how to install it."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise RuntimeError("--plot needs matplotlib: pip install 'distgrad[plot]' "
                           "(or pip install matplotlib), or leave out --plot") from None
    return plt


def plot_metrics(records, path):
    """Draw training loss per step (raw and smoothed) and test loss/accuracy per epoch into
    ``path`` (PNG), titled with the run's model, ranks and batch."""
    plt = require_matplotlib()
    from matplotlib.ticker import MaxNLocator
    steps = [r for r in records if r.get("kind") == "step" and math.isfinite(r["loss"])]
    epochs = [r for r in records if r.get("kind") == "epoch"]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    x, loss = [r["step"] for r in steps], [r["loss"] for r in steps]
    line, = ax_loss.plot(x, loss, alpha=0.3, linewidth=0.8, label="train (per step)")
    ax_loss.plot(x, smooth(loss), color=line.get_color(), label="train (smoothed)")
    if epochs:
        ax_loss.plot([r["step"] for r in epochs], [r["test_loss"] for r in epochs], "o-",
                     label="test (per epoch)")
        ax_acc.plot([r["epoch"] for r in epochs], [100 * r["test_accuracy"] for r in epochs], "o-")
    ax_loss.set(xlabel="step", ylabel="loss", title="loss")
    ax_loss.legend()
    ax_acc.set(xlabel="epoch", ylabel="test accuracy (%)", title="test accuracy")
    ax_acc.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(run_title(records))
    fig.tight_layout()
    write_atomic(path, lambda f: fig.savefig(f, format="png"))
    plt.close(fig)
