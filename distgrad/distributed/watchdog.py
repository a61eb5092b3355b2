"""A watchdog thread that turns a rank stuck in a collective into a clear message and an abort.

Blocking calls register what they wait in (``begin``/``end``, a dict write each); the thread
wakes a few times per timeout and fires when one wait has lasted longer than the timeout.
"""
import itertools
import os
import sys
import threading
import time

DEFAULT_TIMEOUT = 600.0


def resolve_timeout(timeout=None, environ=None):
    """Seconds from the argument, else DISTGRAD_WATCHDOG_TIMEOUT, else 600; 0 disables."""
    if timeout is None:
        env = os.environ if environ is None else environ
        raw = env.get("DISTGRAD_WATCHDOG_TIMEOUT")
        if raw is None or raw.strip() == "":
            return DEFAULT_TIMEOUT
        try:
            timeout = float(raw)
        except ValueError:
            raise ValueError(f"DISTGRAD_WATCHDOG_TIMEOUT={raw!r} is not a number of seconds "
                             "(use e.g. 600, or 0 to disable the watchdog)") from None
    elif hasattr(timeout, "total_seconds"):  # datetime.timedelta, as PyTorch takes
        timeout = timeout.total_seconds()
    timeout = float(timeout)
    if timeout < 0:
        raise ValueError(f"watchdog timeout={timeout} s is negative; use 0 to disable it")
    return timeout


class Watchdog:
    """Calls ``on_timeout(message)`` when a registered wait lasts longer than ``timeout`` s.

    ``what`` passed to ``begin`` is a string, or a function returning one that is called only
    when the watchdog fires, so registering a wait in a hot loop costs no string formatting.
    """

    def __init__(self, timeout, on_timeout, rank=0):
        self.timeout = float(timeout)
        self.rank = rank
        self._on_timeout = on_timeout
        self._waits = {}
        self._ids = itertools.count()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="distgrad-watchdog", daemon=True)
        self._thread.start()

    def begin(self, what):
        """Register that this thread now waits in ``what``; return a token for ``end``."""
        token = next(self._ids)
        self._waits[token] = (what, time.monotonic())
        return token

    def end(self, token):
        """The wait registered under ``token`` is over."""
        self._waits.pop(token, None)

    def stop(self):
        """Stop the watchdog thread (``destroy_process_group`` calls this)."""
        self._stop.set()
        self._thread.join()

    def message(self, what, waited):
        """The report printed when the watchdog fires."""
        if callable(what):
            what = what()
        return (f"[rank {self.rank}] distgrad watchdog: no progress for {waited:.1f} s in "
                f"{what}. Another rank has probably died, hangs, or issues different "
                f"collectives. Aborting the job (timeout {self.timeout:g} s: set "
                "DISTGRAD_WATCHDOG_TIMEOUT or init_process_group(timeout=...); 0 disables)")

    def _run(self):
        poll = min(max(self.timeout / 5, 0.05), 5.0)
        while not self._stop.wait(poll):
            now = time.monotonic()
            for what, started in list(self._waits.values()):
                if now - started > self.timeout:
                    self._on_timeout(self.message(what, now - started))
                    return


def abort_on_timeout(comm):
    """The ``on_timeout`` that prints the message to stderr and aborts the job through ``comm``."""
    def fire(message):
        sys.stderr.write(message + "\n")
        comm.abort(1)
    return fire
