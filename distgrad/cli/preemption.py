"""Stop signals (SIGTERM, SIGINT, SIGUSR1) turned into a stop that every rank takes after the
same step.

A handler only notes the signal: the step in progress finishes. The ranks then agree with one
4-byte all-reduce (the largest signal number wins), because the launcher may deliver the signal
to some ranks only, or to each at a different step; the training loop asks after every step
(about 25 µs with 2 ranks here), so every rank stops after the step in progress. Slurm sends
SIGTERM at a
time limit or on preemption (SIGUSR1 with ``#SBATCH --signal=B:USR1@<s>`` forwarded by the
batch script), Ctrl-C sends SIGINT; a second Ctrl-C interrupts at once.
"""
import signal
import threading

import numpy

from .. import distributed as dist

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1)


class StopSignals:
    """Context manager installing the stop handlers in the main thread (restored on exit)."""

    def __init__(self):
        self.received = 0          # the first signal's number, 0 while none came
        self._previous = {}
        self._flag = numpy.zeros(1, dtype=numpy.int32)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for s in STOP_SIGNALS:
                self._previous[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc):
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous = {}

    def _handle(self, signum, frame):
        if self.received and signum == signal.SIGINT:
            raise KeyboardInterrupt("second Ctrl-C: stopping without a checkpoint")
        self.received = self.received or signum

    def agreed(self, world_size):
        """The signal number every rank stops for (0: go on). Collective when world size > 1."""
        if world_size == 1:
            return self.received
        self._flag[0] = self.received
        dist.all_reduce(self._flag, op="max")
        return int(self._flag[0])


def signal_name(number):
    """``"SIGTERM"`` for 15."""
    return signal.Signals(number).name
