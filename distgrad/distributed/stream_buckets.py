"""Gradient buckets reduced on a CUDA stream of their own, for communicators that queue their
collectives on streams (NCCL: ``comm.stream_based``).

When a bucket's last gradient has been queued on the compute stream, an event recorded there
makes the communication stream wait, then reduce and scale the bucket. At the end of backward
the compute stream waits for the last bucket's event — the host never does — so the
optimiser's kernels, queued next, read averaged gradients while backward's last kernels and
the all-reduces may still be running.
"""
import time

import numpy

from .. import backend


class StreamLauncher:
    """Launches the reducer's buckets on ``comm.stream`` and keeps the control values.

    Args:
        comm: a stream-based communicator (``NcclCommunicator``) with a ``stream``.
        buckets: the reducer's buckets; the last one carries the control tail.
        timed: read CUDA event times after each step (for a timeline): one host wait per step.

    The control tail (non-finite flag, per-parameter usage counts) travels with the last
    bucket as on the CPU. Reading it needs the GPU to have finished, so unless the reducer
    needs it at once (unused parameters here, or ``check_finite``) it is copied to pinned
    memory behind the all-reduce and read one step later: a parameter that another rank did
    not use is then reported at the end of the next step.
    """

    def __init__(self, comm, buckets, timed=False):
        cupy = backend.cupy
        self.comm, self.stream = comm, comm.stream
        self.world_size = comm.size
        self._inverse = 1.0 / comm.size
        self._timed = timed
        last = buckets[-1]
        self._n_params = last.tail.size - 1
        self._all_used = cupy.ones(self._n_params, dtype=last.dtype)
        self._nonfinite = cupy.zeros((), dtype=bool)
        # Two pinned copies of the tail, alternating by step: step s writes one while step
        # s - 1's is read.
        self._control = [backend.cupyx.empty_pinned(last.tail.size, dtype=last.dtype)
                         for _ in range(2)]
        self._control_done = [None, None]
        self._step = 0
        self._done = None
        self._events = [None] * len(buckets)
        self._backward_event = None
        if timed:
            backend.synchronize()
            self._anchor = self.stream.record()
            self._anchor.synchronize()
            self._anchor_time = time.perf_counter()

    # --- main thread, during backward -----------------------------------------------------
    def begin(self):
        """The first gradient of a backward pass is ready."""
        self._nonfinite.fill(False)
        if self._timed:
            self._backward_event = backend.cupy.cuda.get_current_stream().record()

    def mark_nonfinite(self):
        """Send this step's non-finite flag as set (the reducer's ``mark_nonfinite``)."""
        self._nonfinite.fill(True)

    def write_usage(self, tail, used):
        """Put the usage flags in the tail without a host copy when every parameter was used."""
        if len(used) == self._n_params and all(used):
            tail[1:] = self._all_used
        else:
            tail[1:] = backend.cupy.asarray(used, dtype=tail.dtype)

    def launch(self, bucket, check_finite=False, hook=None):
        """Queue the reduction of ``bucket`` behind the gradients queued so far."""
        cupy = backend.cupy
        compute = cupy.cuda.get_current_stream()
        if check_finite:
            cupy.logical_or(self._nonfinite, ~cupy.isfinite(bucket.grads).all(),
                            out=self._nonfinite)
        if bucket.tail.size:
            bucket.tail[0] = self._nonfinite
        self.stream.wait_event(compute.record())
        with self.stream:
            start = self.stream.record() if self._timed else None
            if hook is not None:
                result = hook()
                if result is not bucket.buffer:
                    bucket.buffer[...] = result
            else:
                self.comm.allreduce(bucket.buffer)
                bucket.buffer *= self._inverse
            if bucket.tail.size:
                slot = self._step % 2
                bucket.tail.get(stream=self.stream, out=self._control[slot], blocking=False)
                self._control_done[slot] = self.stream.record()
            self._done = self.stream.record()
        self._events[bucket.index] = (start, self._done)

    # --- main thread, end of backward -------------------------------------------------------
    def finish(self):
        """Make the compute stream wait for every bucket. Returns None, or with ``timed`` the
        step's GPU times on the host clock: (backward start, backward end, gradients ready,
        [(launched, finished) per bucket])."""
        compute = backend.cupy.cuda.get_current_stream()
        end = compute.record() if self._timed else None
        if self._done is not None:
            compute.wait_event(self._done)
        if not self._timed:
            return None
        self._done.synchronize()
        at = self._clock
        times = [(at(start), at(done)) for start, done in self._events]
        return at(self._backward_event), at(end), max(at(end), at(self._done)), times

    def _clock(self, event):
        return self._anchor_time + backend.cupy.cuda.get_elapsed_time(self._anchor, event) / 1e3

    def control(self, now):
        """(any rank non-finite, per-parameter counts of ranks with a gradient): this step's
        when ``now``, else the previous step's (all used, finite before the first)."""
        slot = self._step % 2
        self._step += 1
        previous = self._read(1 - slot)
        if not now:
            return previous
        if previous[0] or min(previous[1], default=self.world_size) < self.world_size:
            return previous
        return self._read(slot)

    def _read(self, slot):
        event = self._control_done[slot]
        if event is None:
            return False, [self.world_size] * self._n_params
        event.synchronize()
        self._control_done[slot] = None
        control = numpy.rint(self._control[slot] * self.world_size)
        return bool(control[0] > 0), control[1:].astype(numpy.int64).tolist()
