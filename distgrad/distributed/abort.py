"""One failing rank ends the whole job instead of leaving the others blocked in a collective.

``sys.excepthook`` and ``threading.excepthook`` print the traceback with every line prefixed
by the rank, then call ``MPI_Abort``, which the launcher turns into the end of every rank.

Last words: a message written just before ``MPI_Abort`` can be lost when the launcher tears
the job down before it has forwarded the rank's output (seen with MPICH's Hydra under load:
exit 1, empty stderr). ``last_words`` therefore writes straight to file descriptor 2 and,
when that is a pipe (a launcher's), waits until the reader has taken every byte before the
caller aborts.
"""
import os
import stat
import struct
import sys
import threading
import time
import traceback

try:  # POSIX; elsewhere last_words writes without waiting for the reader
    import fcntl
    import termios
except ImportError:
    fcntl = termios = None

EXIT_EXCEPTION = 1   # an uncaught exception on some rank ended the job
EXIT_WATCHDOG = 3    # a rank waited in a collective longer than the watchdog's timeout
DRAIN_SECONDS = 10.0  # the longest last_words waits for the launcher to read its message

_installed = None  # (previous sys.excepthook, previous threading.excepthook) while installed


def format_with_rank(rank, exc_type, exc, tb, where="main thread"):
    """The traceback as text, each line prefixed with ``[rank N]`` so interleaved logs stay legible."""
    lines = traceback.format_exception(exc_type, exc, tb)
    text = "".join(lines).rstrip("\n").split("\n")
    head = f"[rank {rank}] uncaught exception in the {where}; aborting all ranks (MPI_Abort)"
    return "\n".join([head] + [f"[rank {rank}] {line}" for line in text]) + "\n"


def _unread_bytes(fd):
    """Bytes written to the pipe ``fd`` that its reader has not taken yet (Linux FIONREAD
    answers for either end of a pipe); None when ``fd`` is not a pipe or cannot say."""
    if fcntl is None:
        return None
    try:
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return None
        return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
    except OSError:
        return None


def _drain(fds, timeout):
    deadline = time.monotonic() + timeout
    for fd in fds:
        while time.monotonic() < deadline:
            left = _unread_bytes(fd)
            if not left:
                break
            time.sleep(0.005)


def last_words(message, timeout=DRAIN_SECONDS):
    """Write ``message`` (plus a newline) to stderr so that it outlives an abort: flush
    Python's streams, write to descriptor 2 directly, then wait (at most ``timeout`` s) until a
    launcher reading stdout/stderr through pipes has taken everything."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    data = (message.rstrip("\n") + "\n").encode("utf-8", "replace")
    try:
        while data:
            data = data[os.write(2, data):]
    except OSError:
        pass
    _drain((1, 2), timeout)


def install_abort_hooks(comm):
    """Abort the job through ``comm`` on any uncaught exception, in any thread.

    Installed by ``init_process_group`` when the world size is above 1; opt out with
    ``init_process_group(abort_on_exception=False)`` or DISTGRAD_ABORT_ON_EXCEPTION=0.
    """
    global _installed
    if _installed is not None:
        return
    _installed = (sys.excepthook, threading.excepthook)

    def excepthook(exc_type, exc, tb):
        last_words(format_with_rank(comm.rank, exc_type, exc, tb))
        comm.abort(EXIT_EXCEPTION)

    def thread_excepthook(args):
        if args.exc_type is SystemExit:
            return
        where = f"thread {args.thread.name!r}" if args.thread is not None else "a thread"
        last_words(format_with_rank(comm.rank, args.exc_type, args.exc_value,
                                    args.exc_traceback, where))
        comm.abort(EXIT_EXCEPTION)

    sys.excepthook = excepthook
    threading.excepthook = thread_excepthook


def uninstall_abort_hooks():
    """Restore the hooks that were there before ``install_abort_hooks``."""
    global _installed
    if _installed is not None:
        sys.excepthook, threading.excepthook = _installed
        _installed = None


def abort_hooks_installed():
    """True while the abort hooks are installed."""
    return _installed is not None
