"""Batches computed ahead in a background thread: what ``DataLoader(num_workers>0)`` or
``DataLoader(prefetch=True)`` runs instead of PyTorch's worker processes."""
import queue
import threading


def _put(q, item, stop):
    """Put ``item`` unless ``stop`` is set first; True when it was put."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            pass
    return False


def prefetched(batches, depth=1, timeout=0, on_start=None):
    """Yield from ``batches`` while a thread computes up to ``depth`` batches ahead.

    ``on_start()`` runs first in that thread. An exception in the thread is raised here; waiting
    longer than ``timeout`` seconds (if positive) for one batch raises ``RuntimeError``. Leaving
    the loop early (``break``, an error in the loop body) stops and joins the thread before this
    generator closes.
    """
    q, stop = queue.Queue(maxsize=depth), threading.Event()

    def produce():
        try:
            if on_start is not None:
                on_start()
            for batch in batches:
                if not _put(q, ("batch", batch), stop):
                    return
            _put(q, ("done", None), stop)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            _put(q, ("error", exc), stop)

    thread = threading.Thread(target=produce, name="distgrad-prefetch", daemon=True)
    thread.start()
    stuck = False
    try:
        while True:
            try:
                kind, value = q.get(timeout=timeout if timeout > 0 else None)
            except queue.Empty:
                stuck = True
                raise RuntimeError(f"DataLoader timed out after {timeout} seconds waiting for "
                                   "a batch (raise timeout=, or find what makes the data set "
                                   "slow)") from None
            if kind == "done":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        while True:  # unblock a producer waiting in put() so that join() returns promptly
            try:
                q.get_nowait()
            except queue.Empty:
                break
        if not stuck:  # a thread stuck in the data set cannot be joined; it exits when it can
            thread.join()
