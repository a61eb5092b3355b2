"""A watchdog thread that turns a rank stuck in a collective into a clear message and an abort.

Blocking calls register what they wait in (``begin``/``end``, a dict write each); the thread
wakes a few times per timeout and fires when one wait has lasted longer than the timeout. Its
message names the collective, the distgrad call that issued it (read from the waiting
thread's stack only when it fires) and, where MPI allows threads to talk concurrently, which
ranks did not arrive: the firing rank asks every other rank's watchdog thread, over a
communicator of their own, what its rank is doing (see ``PeerChannel``).
"""
import itertools
import os
import sys
import threading
import time

from .abort import EXIT_WATCHDOG, last_words

DEFAULT_TIMEOUT = 600.0
_DISTGRAD = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_DISTRIBUTED = os.path.join(_DISTGRAD, "distributed")
# Code that calls distgrad as a user would: its frames are "the caller", not library internals.
_CALLERS = (os.path.join(_DISTGRAD, "cli"), os.path.join(_DISTGRAD, "__main__.py"))
_THREADING = os.path.abspath(threading.__file__)


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


def _in_library(filename):
    path = os.path.abspath(filename)
    return path.startswith(_DISTGRAD + os.sep) and not path.startswith(_CALLERS)


def _describe_frame(frame):
    """``datasets.MNIST(...)``, ``Tensor.backward()`` or ``process_group.barrier()``."""
    code = frame.f_code
    module = os.path.splitext(os.path.basename(code.co_filename))[0]
    qualname = getattr(code, "co_qualname", code.co_name)
    if qualname.endswith(".__init__"):
        return f"{module}.{qualname[:-len('.__init__')]}(...)"
    if "." in qualname and "<locals>" not in qualname:
        return f"{qualname}()"
    return f"{module}.{code.co_name}()"


def describe_caller(frame):
    """Where a wait was issued from: ``(distgrad entry point or None, "file.py:line in fn")``.

    ``frame`` is the waiting thread's innermost frame. The entry point is the outermost
    distgrad frame below the caller's code when it lies outside ``distgrad.distributed`` (a
    data set, ``Tensor.backward``); a collective called directly has none.
    """
    entry = caller = None
    while frame is not None:
        if os.path.abspath(frame.f_code.co_filename) == _THREADING:
            break  # a thread's own machinery: it has no caller
        if _in_library(frame.f_code.co_filename):
            entry = frame
        else:
            caller = frame
            break
        frame = frame.f_back
    where = None
    if caller is not None:
        filename = caller.f_code.co_filename
        short = os.path.relpath(filename, os.path.dirname(_DISTGRAD)) if filename.startswith(
            _DISTGRAD) else os.path.basename(filename)
        where = f"{short}:{caller.f_lineno} in {caller.f_code.co_name}"
    if entry is not None and os.path.abspath(entry.f_code.co_filename).startswith(_DISTRIBUTED):
        entry = None
    return (_describe_frame(entry) if entry is not None else None), where


class PeerChannel:
    """Lets watchdog threads ask each other, over their own duplicate of the MPI communicator,
    what their rank is doing. Used only when MPI provides MPI_THREAD_MULTIPLE: the asking and
    answering happen in the watchdog threads while other threads sit in collectives."""

    QUERY, REPLY = 7301, 7302

    def __init__(self, mpi_comm, MPI):
        self.MPI = MPI
        self.comm = mpi_comm.Dup()
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self._sent = []

    @classmethod
    def create(cls, comm):
        """A channel for a distgrad communicator, or None (no MPI, or not MULTIPLE).
        Collective: every rank of ``comm`` calls it at the same point."""
        host = getattr(comm, "host_comm", comm)
        mpi_comm, MPI = getattr(host, "comm", None), getattr(host, "MPI", None)
        if mpi_comm is None or MPI is None or comm.size < 2:
            return None
        if MPI.Query_thread() < MPI.THREAD_MULTIPLE:
            return None
        return cls(mpi_comm, MPI)

    def _send(self, obj, dest, tag):
        self._sent = [r for r in self._sent if not r.Test()]
        self._sent.append(self.comm.isend(obj, dest=dest, tag=tag))

    def answer(self, status):
        """Reply to every pending query with ``status()``."""
        probe = self.MPI.Status()
        while self.comm.Iprobe(source=self.MPI.ANY_SOURCE, tag=self.QUERY, status=probe):
            source = probe.Get_source()
            self.comm.recv(source=source, tag=self.QUERY)
            self._send(status(), source, self.REPLY)

    def close(self):
        """Free the duplicate communicator (MPI offers a limited number of them)."""
        if self.comm is not None:
            for request in self._sent:
                if not request.Test():
                    request.Cancel()
            self._sent = []
            self.comm.Free()
            self.comm = None

    def ask(self, status, grace):
        """Every other rank's status (None: no answer within ``grace`` seconds), answering
        queries meanwhile so that ranks whose watchdogs fire together all get answers."""
        for r in range(self.size):
            if r != self.rank:
                self._send(None, r, self.QUERY)
        replies = {r: None for r in range(self.size) if r != self.rank}
        deadline = time.monotonic() + grace
        probe = self.MPI.Status()
        while time.monotonic() < deadline and any(v is None for v in replies.values()):
            self.answer(status)
            while self.comm.Iprobe(source=self.MPI.ANY_SOURCE, tag=self.REPLY, status=probe):
                source = probe.Get_source()
                replies[source] = self.comm.recv(source=source, tag=self.REPLY)
            time.sleep(0.01)
        return replies


class Watchdog:
    """Calls ``on_timeout(message)`` when a registered wait lasts longer than ``timeout`` s.

    ``what`` passed to ``begin`` is a string, or a function returning one that is called only
    when the watchdog fires, so registering a wait in a hot loop costs no string formatting.
    With ``peers`` (a ``PeerChannel``) the message also names the ranks that did not arrive.
    """

    def __init__(self, timeout, on_timeout, rank=0, peers=None):
        self.timeout = float(timeout)
        self.rank = rank
        self.peers = peers
        self._on_timeout = on_timeout
        self._waits = {}
        self._ids = itertools.count()
        self._entered = 0          # collectives begun on this rank: the same order everywhere
        self._last_end = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="distgrad-watchdog", daemon=True)
        self._thread.start()

    @classmethod
    def for_communicator(cls, comm, timeout):
        """The watchdog of a process group: aborts ``comm`` with a message naming the missing
        ranks where MPI allows (collective: every rank calls it)."""
        return cls(timeout, abort_on_timeout(comm), rank=comm.rank,
                   peers=PeerChannel.create(comm))

    def begin(self, what):
        """Register that this thread now waits in ``what``; return a token for ``end``."""
        token = next(self._ids)
        self._entered += 1
        self._waits[token] = (what, time.monotonic(), threading.get_ident(), self._entered)
        return token

    def end(self, token):
        """The wait registered under ``token`` is over."""
        self._waits.pop(token, None)
        self._last_end = time.monotonic()

    def stop(self):
        """Stop the watchdog thread (``destroy_process_group`` calls this)."""
        self._stop.set()
        self._thread.join()
        if self.peers is not None:
            self.peers.close()

    def status(self):
        """What this rank is doing, as other ranks' watchdogs are told: ``(collectives begun,
        description of the oldest wait or None, seconds in it or since the last one ended)``."""
        waits = list(self._waits.values())
        now = time.monotonic()
        if not waits:
            return self._entered, None, now - self._last_end
        what, started, _, number = min(waits, key=lambda w: w[1])
        return number, (what() if callable(what) else what), now - started

    def _where(self, what, ident):
        """The collective with the distgrad call and the code that issued it."""
        if callable(what):
            what = what()
        frames = sys._current_frames()
        entry, caller = describe_caller(frames.get(ident))
        if caller is None:
            # The communication thread has no caller of its own: say where the main thread is.
            main = threading.main_thread().ident
            if main != ident:
                entry, caller = describe_caller(frames.get(main))
                return what + (f" (main thread in {entry}, {caller})" if entry and caller else
                               f" (main thread at {caller})" if caller else "")
        text = f"{entry} → {what}" if entry else what
        return text + (f", called from {caller}" if caller else "")

    def _absent(self, number, grace):
        """A sentence naming the ranks that did not reach collective ``number``."""
        if self.peers is None:
            return ("Which rank did not arrive is unknown (that needs MPI_THREAD_MULTIPLE). "
                    "Another rank has probably died, hangs, or issues different collectives.")
        replies = self.peers.ask(self.status, grace)
        missing, notes = [], []
        for r, reply in sorted(replies.items()):
            if reply is None:
                missing.append(r)
                notes.append(f"rank {r} did not answer within {grace:.1f} s (stopped, e.g. "
                             "SIGSTOP or a debugger, or stuck outside Python)")
                continue
            entered, doing, seconds = reply
            if doing is not None and entered == number:
                continue  # waiting in the same collective: it arrived
            missing.append(r)
            if doing is None:
                notes.append(f"rank {r} is outside any collective (for {seconds:.1f} s, after "
                             f"{entered} collectives; this one is number {number})")
            else:
                notes.append(f"rank {r} waits in {doing} (collective number {entered}, this one "
                             f"is number {number}) for {seconds:.1f} s")
        if not missing:
            return ("Every rank is waiting in this collective: the communication itself "
                    "stalls (network, or the MPI library).")
        names = ", ".join(str(r) for r in missing)
        return (f"Rank{'s' if len(missing) > 1 else ''} {names} did not arrive: "
                + "; ".join(notes) + ".")

    def message(self, what, waited, ident=None, number=None, grace=2.0):
        """The report printed when the watchdog fires."""
        where = self._where(what, ident if ident is not None else threading.get_ident())
        absent = self._absent(number if number is not None else self._entered, grace)
        return (f"[rank {self.rank}] distgrad watchdog: no progress for {waited:.1f} s in "
                f"{where}. {absent} Aborting the job with exit code {EXIT_WATCHDOG} (timeout "
                f"{self.timeout:g} s: set DISTGRAD_WATCHDOG_TIMEOUT or "
                "init_process_group(timeout=...); 0 disables)")

    def _run(self):
        poll = min(max(self.timeout / 5, 0.05), 5.0)
        # Long enough for every other watchdog thread to wake and answer.
        grace = min(2 * poll + 1.0, 12.0)
        while not self._stop.wait(poll):
            if self.peers is not None:
                self.peers.answer(self.status)
            now = time.monotonic()
            for what, started, ident, number in list(self._waits.values()):
                if now - started > self.timeout:
                    self._on_timeout(self.message(what, now - started, ident, number, grace))
                    return


def abort_on_timeout(comm):
    """The ``on_timeout`` that writes the message where the launcher cannot lose it and
    aborts the job through ``comm`` with ``EXIT_WATCHDOG``."""
    def fire(message):
        last_words(message)
        comm.abort(EXIT_WATCHDOG)
    return fire
