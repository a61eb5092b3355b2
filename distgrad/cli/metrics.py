"""Run metrics: JSON lines written by rank 0, and loss/accuracy curves as a PNG."""
import json
import os

from ..atomic import write_atomic


class MetricsWriter:
    """Append one JSON object per line to ``path`` (only where ``enabled``: rank 0).

    Each line is flushed as it is written, so a killed run keeps everything up to its last
    step; a resumed run appends to the same file.
    """

    def __init__(self, path, enabled=True, append=False):
        self.path = path if enabled else None
        self._file = None
        if self.path:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            self._file = open(self.path, "a" if append else "w")

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
    """The records of a metrics file, as dicts."""
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def plot_metrics(records, path):
    """Draw training loss per step and test loss/accuracy per epoch into ``path`` (PNG)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        raise RuntimeError("--plot needs matplotlib: pip install 'distgrad[plot]' "
                           "(or pip install matplotlib), or leave out --plot") from None
    steps = [r for r in records if r.get("kind") == "step"]
    epochs = [r for r in records if r.get("kind") == "epoch"]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot([r["step"] for r in steps], [r["loss"] for r in steps], label="train (per step)")
    if epochs:
        ax_loss.plot([r["step"] for r in epochs], [r["test_loss"] for r in epochs], "o-",
                     label="test (per epoch)")
        ax_acc.plot([r["epoch"] for r in epochs], [100 * r["test_accuracy"] for r in epochs], "o-")
    ax_loss.set(xlabel="step", ylabel="loss", title="loss")
    ax_loss.legend()
    ax_acc.set(xlabel="epoch", ylabel="test accuracy (%)", title="test accuracy")
    ax_acc.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    write_atomic(path, lambda f: fig.savefig(f, format="png"))
    plt.close(fig)
