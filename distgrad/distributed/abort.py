"""One failing rank ends the whole job instead of leaving the others blocked in a collective.

``sys.excepthook`` and ``threading.excepthook`` print the traceback with every line prefixed
by the rank, then call ``MPI_Abort``, which the launcher turns into the end of every rank.
"""
import sys
import threading
import traceback

_installed = None  # (previous sys.excepthook, previous threading.excepthook) while installed


def format_with_rank(rank, exc_type, exc, tb, where="main thread"):
    """The traceback as text, each line prefixed with ``[rank N]`` so interleaved logs stay legible."""
    lines = traceback.format_exception(exc_type, exc, tb)
    text = "".join(lines).rstrip("\n").split("\n")
    head = f"[rank {rank}] uncaught exception in the {where}; aborting all ranks (MPI_Abort)"
    return "\n".join([head] + [f"[rank {rank}] {line}" for line in text]) + "\n"


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
        sys.stderr.write(format_with_rank(comm.rank, exc_type, exc, tb))
        comm.abort(1)

    def thread_excepthook(args):
        if args.exc_type is SystemExit:
            return
        where = f"thread {args.thread.name!r}" if args.thread is not None else "a thread"
        sys.stderr.write(format_with_rank(comm.rank, args.exc_type, args.exc_value,
                                          args.exc_traceback, where))
        comm.abort(1)

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
