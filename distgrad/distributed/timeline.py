"""A Chrome-trace timeline (chrome://tracing, ui.perfetto.dev) of compute and communication.

One process per rank (pid = rank), two tracks: compute (forward, backward, optimiser step,
waiting for gradients) and communication (each bucket's all-reduce). Events live in a ring
buffer so a long run stays bounded; the per-step aggregates behind ``summary()`` cover the
whole run. ``save()`` is collective: rank 0 gathers every rank's events and writes one file.
"""
import collections
import contextlib
import json
import os
import threading
import time

from ..atomic import write_atomic

COMPUTE = 0
COMMUNICATION = 1
_TRACK_NAMES = {COMPUTE: "compute", COMMUNICATION: "communication"}


def _overlap(a0, a1, b0, b1):
    return max(0.0, min(a1, b1) - max(a0, b0))


def write_json_atomic(path, obj):
    """Write ``obj`` as compact JSON to ``path`` atomically, creating its directory."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    write_atomic(path, lambda f: f.write(json.dumps(obj, separators=(",", ":")).encode()))


class Timeline:
    """Records spans and bucket all-reduces of one rank; pass it to ``DistributedDataParallel``.

    Args:
        path: where ``save()`` writes the trace (one JSON file for all ranks).
        max_events: ring-buffer size per rank; older events are dropped (about 100 bytes each).

    >>> timeline = Timeline("trace.json")
    >>> model = DistributedDataParallel(net, timeline=timeline)      # doctest: +SKIP
    >>> with timeline.span("optimizer"):                             # doctest: +SKIP
    ...     optimizer.step()
    >>> timeline.save()                                              # doctest: +SKIP
    """

    def __init__(self, path=None, max_events=100_000):
        if max_events < 1:
            raise ValueError(f"Timeline(max_events={max_events}) must keep at least one event")
        self.path = path
        self.rank, self.world_size = 0, 1
        self._origin = time.perf_counter()
        self._events = collections.deque(maxlen=max_events)
        self._kept = []      # events the ring buffer must not drop (see ``mark``)
        self._recorded = 0
        self._lock = threading.Lock()  # the communication thread records too
        self.steps = 0
        self.comm_seconds = 0.0      # sum over buckets of launch -> finished
        self.hidden_seconds = 0.0    # the part of it that overlapped backward's compute
        self.exposed_seconds = 0.0   # time the main thread waited for buckets after backward
        self.bytes = 0

    def attach(self, comm):
        """Align this rank's clock with the others (a barrier) and take its rank for pid."""
        comm.barrier()
        self._origin = time.perf_counter()
        self.rank, self.world_size = comm.rank, comm.size

    def _add(self, event):
        with self._lock:
            self._recorded += 1
            self._events.append(event)

    @property
    def dropped(self):
        """How many events the ring buffer has discarded so far."""
        with self._lock:
            return self._recorded - len(self._events)

    def mark(self, name, track, **args):
        """Record a point event now that stays in the trace however long the run (a few per
        run: what a forecast needs from its start, such as the link a layout was made for)."""
        with self._lock:
            self._kept.append(("i", name, track, time.perf_counter(), 0.0, args))

    def complete(self, name, track, start, end, **args):
        """Record a span from ``start`` to ``end`` (``time.perf_counter()`` seconds)."""
        self._add(("X", name, track, start, end - start, args))

    def instant(self, name, track, at=None, **args):
        """Record a point event (at ``at``, default now)."""
        self._add(("i", name, track, time.perf_counter() if at is None else at, 0.0, args))

    @contextlib.contextmanager
    def span(self, name, track=COMPUTE, **args):
        """Context manager recording its body as a span, e.g. ``span("optimizer")``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.complete(name, track, start, time.perf_counter(), **args)

    def record_step(self, backward_start, wait_start, wait_end, buckets):
        """Add one step's communication to the aggregates.

        ``buckets`` holds ``(nbytes, launched, finished)`` per all-reduce; the part of each that
        falls between the first gradient and the moment backward started waiting is hidden.
        """
        self.steps += 1
        self.exposed_seconds += wait_end - wait_start
        for nbytes, launched, finished in buckets:
            self.bytes += nbytes
            self.comm_seconds += finished - launched
            self.hidden_seconds += _overlap(launched, finished, backward_start, wait_start)

    def summary(self):
        """Per-run figures: communication per step, hidden fraction, bus bandwidth."""
        n, steps = self.world_size, max(self.steps, 1)
        busbw = (2 * (n - 1) / n * self.bytes / self.comm_seconds
                 if self.comm_seconds > 0 and n > 1 else 0.0)
        return {
            "rank": self.rank, "world_size": n, "steps": self.steps,
            "comm_ms_per_step": 1e3 * self.comm_seconds / steps,
            "exposed_ms_per_step": 1e3 * self.exposed_seconds / steps,
            "hidden_fraction": self.hidden_seconds / self.comm_seconds if self.comm_seconds else 0.0,
            "bytes_per_step": self.bytes / steps,
            "bus_bandwidth_GBps": busbw / 1e9,
        }

    def format_summary(self):
        """``summary()`` as one line of text for a training log."""
        s = self.summary()
        return (f"[rank {s['rank']}] communication {s['comm_ms_per_step']:.3f} ms/step over "
                f"{s['steps']} steps ({s['bytes_per_step'] / 1e6:.3f} MB/step), "
                f"{100 * s['hidden_fraction']:.1f}% hidden under backward, "
                f"{s['exposed_ms_per_step']:.3f} ms/step exposed, bus bandwidth "
                f"{s['bus_bandwidth_GBps']:.2f} GB/s (2(n-1)/n x bytes / time, n={s['world_size']})")

    def trace_events(self):
        """This rank's events as Chrome-trace dicts (microseconds since the aligned origin)."""
        pid, origin = self.rank, self._origin
        out = [{"name": "process_name", "ph": "M", "pid": pid, "args": {"name": f"rank {pid}"}},
               {"name": "process_sort_index", "ph": "M", "pid": pid, "args": {"sort_index": pid}}]
        out += [{"name": "thread_name", "ph": "M", "pid": pid, "tid": tid, "args": {"name": name}}
                for tid, name in _TRACK_NAMES.items()]
        with self._lock:
            events = self._kept + list(self._events)
        for ph, name, tid, start, dur, args in events:
            event = {"name": name, "ph": ph, "pid": pid, "tid": tid,
                     "ts": round((start - origin) * 1e6, 3), "args": args}
            if ph == "X":
                event["dur"] = round(dur * 1e6, 3)
            else:
                event["s"] = "t"
            out.append(event)
        return out

    def save(self, path=None, comm=None):
        """Gather every rank's events on rank 0 and write one trace file there (collective).

        Every rank must call it; ``comm`` defaults to the default process group when one is
        initialised. Returns the path written (on rank 0) or None.
        """
        path = path or self.path
        if path is None:
            raise ValueError("Timeline.save() needs a path: Timeline(path) or save(path)")
        if comm is None:
            from . import process_group
            comm = process_group.get_default_group() if process_group.is_initialized() else None
        mine = (self.trace_events(), self.summary(), self.dropped)
        gathered = comm.allgather_obj(mine) if comm is not None else [mine]
        if self.rank != 0:
            return None
        events = [event for rank_events, _, _ in gathered for event in rank_events]
        write_json_atomic(path, {
            "traceEvents": events, "displayTimeUnit": "ms",
            "otherData": {"summaries": [summary for _, summary, _ in gathered],
                          "dropped_events": [dropped for _, _, dropped in gathered]}})
        return path
