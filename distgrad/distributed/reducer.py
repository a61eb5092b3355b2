"""The reducer: turns gradient-ready hooks into bucketed all-reduces that overlap backward.

Per step: each parameter's post-accumulate-grad hook puts its gradient in its bucket (a view,
so usually without a copy); a bucket whose gradients are all in is *ready*; ready buckets are
launched strictly in index order (every rank must issue collectives in the same order): one
mechanism, ``comm.submit(job)`` -> a request, waited for at the end of backward (the MPI
communicator runs jobs on its progress thread; NCCL queues them on a CUDA stream, see
stream_buckets). A callback queued on the backward engine launches whatever is left
(parameters that got no gradient), waits, and checks the control values reduced with the last
bucket: one non-finite flag and one usage count per parameter, so every rank takes the same
decision in the same step without an extra collective.

Across a network, the buckets are rebuilt once, after the first measured steps, from the
gradients' observed ready order and times and a probe of the link (see layout.py).
"""
import os
import time

import numpy

from ..autograd import Tensor, queue_callback
from ..backend import device_of, get_array_module, to_numpy
from .buckets import FIRST_BUCKET_BYTES, Bucket, compute_bucket_assignment
from .comm_hooks import GradBucket, hook_result
from .layout import LayoutPlanner
from .stream_buckets import StreamLauncher
from .timeline import COMMUNICATION, COMPUTE


def _all_finite(array):
    # min and max propagate NaN and show ±inf, without a temporary as large as the bucket.
    return array.size == 0 or bool(numpy.isfinite(float(array.min())) and
                                   numpy.isfinite(float(array.max())))


class CommStats:
    """Communication figures of the last synchronised step and totals over all steps."""

    def __init__(self):
        self.steps = 0
        self.bytes = 0                 # bytes all-reduced in the last step (buffer sizes)
        self.comm_seconds = 0.0        # sum over buckets of launch -> finished, last step
        self.exposed_seconds = 0.0     # time backward waited for communication, last step
        self.total_bytes = 0
        self.total_comm_seconds = 0.0
        self.total_exposed_seconds = 0.0


BUCKET_LAYOUTS = ("auto", "measured", "static")


class Reducer:
    """Averages the gradients of ``named_params`` over ``comm`` during backward.

    Owned by ``DistributedDataParallel``; ``prepare_for_backward()`` (called by its forward)
    arms the hooks for the next backward pass.

    ``bucket_layout`` (default: ``DISTGRAD_BUCKET_LAYOUT``, else ``"auto"``): ``"static"``
    keeps the caps' layout; ``"measured"`` rebuilds the buckets once from measured ready times
    and a link probe (``bucket_cap_mb`` stays the largest bucket); ``"auto"`` does so only when
    ``comm`` crosses a network with host buffers. On one node the all-reduce is CPU copying on
    the cores backward uses, so nothing can hide it and splitting only adds latency (measured
    +1.8% for the CNN in two buckets).
    """

    def __init__(self, named_params, comm, bucket_cap_mb=25, gradient_as_bucket_view=True,
                 find_unused_parameters=False, check_finite=False, timeline=None,
                 watchdog=None, first_bucket_mb=FIRST_BUCKET_BYTES / 2**20, bucket_layout=None):
        self.names = [name for name, _ in named_params]
        self.params = [p for _, p in named_params]
        if not self.params:
            raise ValueError("DistributedDataParallel got a module without parameters that "
                             "require grad; there is nothing to synchronise")
        self.comm = comm
        self.world_size = comm.size
        self._inverse_world_size = 1.0 / comm.size
        self._everywhere = [comm.size] * len(self.params)
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.find_unused_parameters = find_unused_parameters
        self.check_finite = check_finite
        self.timeline = timeline
        self.watchdog = watchdog
        self.comm_hook, self.comm_hook_state = None, None
        self.bucket_layout = bucket_layout or os.environ.get("DISTGRAD_BUCKET_LAYOUT", "auto")
        if self.bucket_layout not in BUCKET_LAYOUTS:
            raise ValueError(f"bucket_layout={self.bucket_layout!r}: expected one of "
                             f"{', '.join(BUCKET_LAYOUTS)}")

        self._cap_bytes = max(1, int(bucket_cap_mb * 2**20))
        self._build_buckets(compute_bucket_assignment(
            [p.array.nbytes for p in self.params], [p.dtype for p in self.params],
            self._cap_bytes, max(1, int(first_bucket_mb * 2**20))))

        self.step = 0
        self.last_step_finite = True
        self.stats = CommStats()
        self._armed = self._grads_stay_put = False
        self._reset_step()
        # A communicator that queues collectives on CUDA streams (NCCL) needs no thread: its
        # buckets are reduced on a stream of their own (see stream_buckets).
        self._stream = None
        on_host = device_of(self.buckets[0].buffer) == "cpu"
        if getattr(comm, "stream_based", False) and self.world_size > 1 and not on_host:
            self._stream = StreamLauncher(comm, self.buckets, timed=timeline is not None)
        self._requests = []
        measure = self.world_size > 1 and on_host and (
            self.bucket_layout == "measured" or (self.bucket_layout == "auto" and
                                                 getattr(comm, "crosses_network", False)))
        self._planner = LayoutPlanner(len(self.params)) if measure else None
        self._ready_at = None   # this step's ready offsets, while the planner measures
        self.link = None        # the layout.Link the measured layout was made for
        self._handles = [p.register_post_accumulate_grad_hook(self._make_hook(i))
                         for i, p in enumerate(self.params)]

    def _build_buckets(self, assignment):
        """Create the buckets of ``assignment``; existing gradients move into their views."""
        n = len(self.params)
        self.buckets = []
        self._slot = [None] * n            # parameter index -> (bucket index, view)
        for b, indices in enumerate(assignment):
            # The last bucket carries the control values: [non-finite flag, usage per parameter].
            tail = 1 + n if b == len(assignment) - 1 else 0
            bucket = Bucket(b, [self.params[i] for i in indices],
                            [self.names[i] for i in indices], tail=tail)
            bucket.param_indices = indices
            self.buckets.append(bucket)
            for i, view in zip(indices, bucket.views):
                self._slot[i] = (b, view)
                grad = self.params[i].grad
                if grad is not None:
                    view[...] = grad.array
                    if self.gradient_as_bucket_view:
                        grad.array = view
        self._grad_buckets = [GradBucket(b, self.comm, b is self.buckets[-1])
                              for b in self.buckets]
        self._bucket_sizes = [len(b.params) for b in self.buckets]
        self._total_bytes = sum(b.nbytes for b in self.buckets)

    def _make_hook(self, index):
        def hook(param):
            self._on_grad_ready(index, param)
        return hook

    def _reset_step(self):
        self._in_backward = False
        self._used = [0] * len(self.params)
        self._n_used = 0
        self._pending = list(self._bucket_sizes)
        self._ready = [False] * len(self.buckets)
        self._next_launch = 0
        self._local_nonfinite = 0
        self._times = [None] * len(self.buckets)
        self._wait_start = float("inf")   # when the main thread began to block on communication
        self._prescaled = [False] * len(self.params)  # copied into the bucket already times 1/N
        self._prescaled_in = [0] * len(self.buckets)

    def prepare_for_backward(self):
        """Arm the hooks: the next backward pass averages gradients."""
        if self._in_backward:
            # A previous backward died between its first hook and its callback; finish the
            # collectives it launched so this step starts from a clean slate.
            self._wait_requests()
            self._reset_step()
        self._armed = True
        # At world size 1 there is nothing to average: unless a feature reads the buckets (a
        # comm hook, finite checks, zeros for unused parameters), gradients stay where backward
        # put them, which saves copying every gradient into its bucket each step.
        self._grads_stay_put = (self.world_size == 1 and self.comm_hook is None
                                and not self.check_finite and not self.find_unused_parameters)
        # With the default all-reduce on the CPU path, a gradient's copy into its bucket also
        # applies the 1/N: one pass over it instead of two (a comm hook scales its own way).
        self._scale_on_copy = (self.world_size > 1 and self.comm_hook is None
                               and self._stream is None)

    def disarm(self):
        """The next backward accumulates locally (``no_sync``)."""
        self._armed = False

    def mark_nonfinite(self):
        """Count this rank's current step as non-finite although its gradients may not be
        (its loss was NaN/inf): call between forward and backward. The flag travels with the
        next synchronised backward's gradients, so every rank sees ``last_step_finite`` False
        in the same step."""
        self._local_nonfinite = 1

    def register_comm_hook(self, state, hook):
        """Reduce each bucket with ``hook(state, bucket)`` instead of the default all-reduce."""
        if self.step > 0 or self._in_backward:
            raise RuntimeError("register_comm_hook() must be called before the first backward "
                               "pass, so that every step reduces the same way on every rank")
        if not callable(hook):
            raise TypeError(f"register_comm_hook(state, hook) needs a callable hook, got {hook!r}")
        self.comm_hook, self.comm_hook_state = hook, state

    # --- main thread, during backward -----------------------------------------------------
    def _on_grad_ready(self, index, param):
        if not self._armed:
            return
        if not self._in_backward:
            self._in_backward = True
            self._t_backward = time.perf_counter()
            if self._stream is not None:
                self._stream.begin()
            if self._planner is not None and self._planner.measures(self.step):
                self._ready_at = [None] * len(self.params)
            queue_callback(self._finalize)
        if self._ready_at is not None:
            self._ready_at[index] = time.perf_counter() - self._t_backward
        if self.timeline is not None:
            # Per gradient, so that a forecast can place buckets for another link.
            self.timeline.instant("gradient ready", COMPUTE, param=index, step=self.step,
                                  bytes=param.array.nbytes, dtype=param.array.dtype.str)
        self._used[index] = 1
        self._n_used += 1
        b, view = self._slot[index]
        grad = param._grad
        if grad.array is not view and not self._grads_stay_put:
            if self._scale_on_copy:
                get_array_module(view).multiply(grad.array, self._inverse_world_size, out=view)
                self._prescaled[index] = True
                self._prescaled_in[b] += 1
            else:
                view[...] = grad.array
            if self.gradient_as_bucket_view:
                grad.array = view  # the same .grad Tensor, now a view of the bucket
        self._pending[b] -= 1
        if self._pending[b] == 0:
            self._mark_ready(b)

    def _mark_ready(self, b):
        self._ready[b] = True
        if self.timeline is not None:
            self.timeline.instant(f"bucket {b} ready", COMMUNICATION, bucket=b, step=self.step)
        # Launch strictly in index order: a ready bucket waits for all lower-indexed ones.
        last = len(self.buckets) - 1
        while self._next_launch <= last and self._ready[self._next_launch]:
            bucket = self.buckets[self._next_launch]
            self._next_launch += 1
            if bucket.tail.size and self.world_size > 1:
                if self._stream is not None:
                    self._stream.write_usage(bucket.tail, self._used)
                else:
                    bucket.tail[1:] = self._used
            if self._stream is not None:
                self._launch_on_stream(bucket)
            elif bucket.index < last:
                self._requests.append(self.comm.submit(lambda bucket=bucket: self._reduce(bucket)))
            else:
                # Once the last bucket is ready every gradient is in and backward has nothing
                # left to overlap with: the main thread reduces it itself, after the earlier
                # buckets (keeping the order), which saves two thread hand-offs per step.
                self._wait_start = time.perf_counter()
                self._wait_requests()
                self._reduce(bucket)

    def _wait_requests(self):
        requests, self._requests = self._requests, []
        for request in requests:
            request.wait()

    # --- where the communicator makes progress (its thread; inline for the last bucket) ------
    def _reduce(self, bucket):
        start = time.perf_counter()
        if self.check_finite and not _all_finite(bucket.grads):
            self._local_nonfinite = 1
        if bucket.tail.size and self.world_size > 1:
            bucket.tail[0] = self._local_nonfinite
        watch = self.watchdog
        token = watch.begin(lambda: f"Allreduce of gradient bucket {bucket.index} of "
                                    f"{len(self.buckets)} ({bucket.nbytes} bytes) in DDP step "
                                    f"{self.step}") if watch is not None else None
        if self.comm_hook is not None:
            result = hook_result(self.comm_hook(self.comm_hook_state,
                                                self._grad_buckets[bucket.index]))
            if result is not bucket.buffer:
                bucket.buffer[...] = result
        elif self.world_size > 1:
            # Scale first: the buffer is still in this core's cache (after the all-reduce it is
            # not, and the same pass took twice as long). A multiply is 2-3x faster than a
            # divide, and exact for power-of-two world sizes (else within an ulp of it).
            # Gradients copied in by their hook carry the 1/N already; the rest (accumulated
            # in place, unused ones) and the control values are scaled here.
            self._scale_the_rest(bucket)
            # Blocking: mpi4py releases the GIL for the whole call, so backward keeps running.
            # (Polling MPI_Test with sleeps measured 20-60% slower steps on a loaded machine:
            # a sleeping rank gives its core away and wakes late.)
            self.comm.allreduce(bucket.buffer)
        if token is not None:
            watch.end(token)
        end = time.perf_counter()
        self._times[bucket.index] = (start, end)
        if self.timeline is not None:
            self.timeline.complete(f"allreduce bucket {bucket.index}", COMMUNICATION, start, end,
                                   bucket=bucket.index, bytes=bucket.nbytes, step=self.step,
                                   params=len(bucket.params))

    def _scale_the_rest(self, bucket):
        inverse = self._inverse_world_size
        done = self._prescaled_in[bucket.index]
        if done == 0:
            bucket.buffer *= inverse
            return
        if done < len(bucket.params):
            for i, view in zip(bucket.param_indices, bucket.views):
                if not self._prescaled[i]:
                    view *= inverse
        if bucket.tail.size:
            bucket.tail *= inverse

    def _launch_on_stream(self, bucket):
        hook = None
        if self.comm_hook is not None:
            grad_bucket = self._grad_buckets[bucket.index]

            def hook():
                return hook_result(self.comm_hook(self.comm_hook_state, grad_bucket))
        launched = time.perf_counter()
        if self._local_nonfinite and bucket.tail.size:
            self._stream.mark_nonfinite()
        self._stream.launch(bucket, check_finite=bool(self.check_finite), hook=hook)
        self._times[bucket.index] = (launched, launched)   # GPU times only with a timeline

    # --- main thread, end of backward -------------------------------------------------------
    def _finalize(self):
        wait_start = min(time.perf_counter(), self._wait_start)
        n = len(self.params)
        unused = [] if self._n_used == n else [i for i in range(n) if not self._used[i]]
        grad_was_none = {}
        for i in unused:
            # Every rank must launch every bucket, used or not, or the others would wait
            # forever; a missing gradient takes part as zeros, an existing one as it is.
            b, view = self._slot[i]
            grad = self.params[i].grad
            grad_was_none[i] = grad is None
            if grad is None:
                view[...] = 0
            elif grad.array is not view:
                view[...] = grad.array
            self._pending[b] -= 1
            if self._pending[b] == 0:
                self._mark_ready(b)
        self._wait_requests()
        gpu_times = self._stream.finish() if self._stream is not None else None
        wait_end = time.perf_counter()
        if gpu_times is not None:
            # With a timeline the step is shown on the GPU's clock: its kernels and the
            # communication stream's all-reduces, read from CUDA events.
            self._t_backward, wait_start, wait_end, self._times = gpu_times
            for b, (start, end) in enumerate(self._times):
                self.timeline.complete(f"allreduce bucket {b}", COMMUNICATION, start, end,
                                       bucket=b, bytes=self.buckets[b].nbytes, step=self.step,
                                       stream="communication")

        nonfinite, counts = self._decode_control(now=bool(unused) or bool(self.check_finite))
        for i in unused:
            if counts[i] > 0 or not grad_was_none[i]:
                self._point_grad(i)
        if not self.gradient_as_bucket_view and not self._grads_stay_put:
            for i in range(n):
                if self._used[i]:
                    self._point_grad(i)
        self._record(wait_start, wait_end)
        if self._ready_at is not None:
            self._planner.record(self._ready_at, wait_start - self._t_backward)
            self._ready_at = None
        if self._planner is not None and self._planner.due(self.step):
            self._rebuild()
        self._reset_step()
        self._armed = False
        self.step += 1
        self.last_step_finite = not nonfinite

        missing = [i for i in range(n) if counts[i] < self.world_size] if unused or (
            self.world_size > 1 and min(counts) < self.world_size) else []
        if missing and not self.find_unused_parameters:
            raise RuntimeError(self._unused_message(missing, counts))
        if nonfinite and self.check_finite == "raise":
            raise FloatingPointError(
                f"non-finite gradient (NaN or inf) on at least one rank in DDP step "
                f"{self.step - 1}; every rank raises here. Lower the learning rate, clip "
                "gradients, or pass check_finite='skip' and test ddp.last_step_finite "
                "before optimizer.step() to skip such steps")

    def _rebuild(self):
        """Replace the buckets by the measured layout (collective: every rank, same step)."""
        planner, self._planner = self._planner, None
        assignment = planner.plan(self.comm, [p.array.nbytes for p in self.params],
                                  [p.dtype for p in self.params], self._cap_bytes)
        self.link = planner.link
        if self.timeline is not None and self.link is not None:
            # So that a forecast from this trace lays buckets out as this layout did, CPU
            # term included (the trace's times cannot show what moving bytes costs a core);
            # kept outside the ring buffer, which a long run wraps.
            self.timeline.mark("link", COMMUNICATION, step=self.step,
                               world_size=self.world_size, **self.link._asdict())
        if assignment != [b.param_indices for b in self.buckets]:
            self._build_buckets(assignment)

    def _decode_control(self, now=True):
        """(any rank non-finite, per-parameter count of ranks that produced a gradient); on a
        CUDA stream, the previous step's unless ``now`` (see ``StreamLauncher.control``)."""
        if self.world_size == 1:
            return bool(self._local_nonfinite), self._used
        if self._stream is not None:
            return self._stream.control(now)
        # The tail was averaged with the gradients: a count of c ranks arrives as c / size.
        # (A list: NumPy's per-call overhead on a handful of values measured 3x Python's.)
        tail = to_numpy(self.buckets[-1].tail).tolist()
        nonfinite = tail[0] > 0
        if min(tail[1:]) > 1 - 0.5 / self.world_size:   # the usual step: all used everywhere
            return nonfinite, self._everywhere
        return nonfinite, [round(c * self.world_size) for c in tail[1:]]

    def _point_grad(self, i):
        b, view = self._slot[i]
        param = self.params[i]
        if param.grad is None:
            param.grad = Tensor._from_op(view if self.gradient_as_bucket_view else view.copy(), None)
        elif self.gradient_as_bucket_view:
            param.grad.array = view
        else:
            param.grad.array[...] = view

    def _unused_message(self, missing, counts):
        first = missing[0]
        more = "" if len(missing) == 1 else (
            f" (and {len(missing) - 1} more: " +
            ", ".join(repr(self.names[i]) for i in missing[1:6]) +
            (", ..." if len(missing) > 6 else "") + ")")
        return (f"DistributedDataParallel: parameter {self.names[first]!r}{more} received no "
                f"gradient in backward step {self.step - 1} on "
                f"{self.world_size - counts[first]} of {self.world_size} rank(s). Pass "
                "find_unused_parameters=True to DistributedDataParallel when some parameters "
                "do not take part in the loss (they are then averaged as zeros), or make "
                "every parameter contribute to the loss")

    def _record(self, wait_start, wait_end):
        stats = self.stats
        stats.steps += 1
        stats.bytes = self._total_bytes
        stats.comm_seconds = sum(end - start for start, end in self._times)
        stats.exposed_seconds = wait_end - wait_start
        stats.total_bytes += stats.bytes
        stats.total_comm_seconds += stats.comm_seconds
        stats.total_exposed_seconds += stats.exposed_seconds
        if self.timeline is not None:
            self.timeline.complete("wait for gradients", COMPUTE, wait_start, wait_end,
                                   step=self.step)
            self.timeline.complete("backward", COMPUTE, self._t_backward, wait_end,
                                   step=self.step, note="from the first gradient ready")
            self.timeline.record_step(self._t_backward, wait_start, wait_end, [
                (b.nbytes, start, end) for b, (start, end) in zip(self.buckets, self._times)])

    def close(self):
        """Remove the hooks (collectives still in flight are waited for)."""
        self._wait_requests()
        for handle in self._handles:
            handle.remove()
        self._handles = []
