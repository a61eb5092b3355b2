"""A progress bar on rank 0 (tqdm when installed and on a terminal), else periodic lines."""
import sys
import time


class Progress:
    """Show step, loss, samples/s and ETA for one epoch.

    Uses tqdm when it is importable, ``enabled`` and stderr is a terminal; otherwise prints a
    plain line every ``every`` steps (when ``enabled``), so logs of batch jobs stay readable.
    """

    def __init__(self, total, epoch, enabled=True, every=100):
        self.total, self.epoch, self.every = total, epoch, every
        self.enabled = enabled
        self._bar = None
        self._start = time.perf_counter()
        if enabled and sys.stderr.isatty():
            try:
                from tqdm import tqdm
                self._bar = tqdm(total=total, desc=f"epoch {epoch}", unit="step", leave=False)
            except ImportError:
                pass

    def update(self, step_in_epoch, loss, samples_per_s):
        """Report that ``step_in_epoch`` steps of this epoch are done."""
        if self._bar is not None:
            self._bar.update(step_in_epoch - self._bar.n)
            self._bar.set_postfix(loss=f"{loss:.4f}", samples_s=f"{samples_per_s:,.0f}")
        elif self.enabled and (step_in_epoch % self.every == 0 or step_in_epoch == self.total):
            elapsed = time.perf_counter() - self._start
            eta = elapsed / max(step_in_epoch, 1) * (self.total - step_in_epoch)
            print(f"epoch {self.epoch} step {step_in_epoch}/{self.total} loss {loss:.4f} "
                  f"{samples_per_s:,.0f} samples/s eta {eta:.0f}s", flush=True)

    def close(self):
        """Remove the bar."""
        if self._bar is not None:
            self._bar.close()
