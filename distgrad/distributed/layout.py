"""Bucket boundaries from measurement: when each gradient becomes ready, and how fast the link is.

The reducer records each gradient's ready time (seconds after the first one) in a few early
steps; then every rank probes the link (latency, time per byte, and the compute time per byte
an all-reduce takes from computation beside it), one all-reduce (max) agrees on the figures,
and all ranks compute the same layout from them (``measured_bucket_assignment``). Step 0 is not
measured: first-touch allocations and MPI's connection setup distort it.
"""
import statistics
import time
from typing import NamedTuple

import numpy

from .buckets import measured_bucket_assignment

MEASURE_FROM_STEP = 1
MEASURED_STEPS = 2
PROBE_MAX_BYTES = 64 << 20
# The CPU cost per byte hardly depends on the size: a few MB tell it within the noise.
CPU_PROBE_MAX_BYTES = 4 << 20


class Link(NamedTuple):
    """What the measured layout was made for (seconds; per byte of the all-reduced buffer)."""

    latency: float
    seconds_per_byte: float
    cpu_seconds_per_byte: float = 0.0


def probe_link(comm, nbytes, repeats=3):
    """(latency, seconds per byte) of ``comm``'s all-reduce: the best of ``repeats`` timings of
    an 8-byte and of an ``nbytes`` all-reduce (so a loaded machine counts as little as it can).
    """
    def best(array):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            # The path buckets take (the progress thread's MPI_Iallreduce): MPI may run
            # another algorithm for a blocking all-reduce (MPICH does for odd world sizes).
            comm.iallreduce(array).wait()
            times.append(time.perf_counter() - start)
        return min(times)

    latency = best(numpy.zeros(1, numpy.float64))
    nbytes = int(min(max(nbytes, 4096), PROBE_MAX_BYTES))
    large = best(numpy.zeros(nbytes // 4, numpy.float32))
    return latency, max(large - latency, 0.0) / nbytes


def probe_cpu(comm, nbytes, link_seconds, repeats=5):
    """Compute time per byte that an all-reduce running beside computation takes from it.

    A rank's cores also move its bytes: MPI's progress and the kernel's TCP work. When a
    bucket is reduced under backward that time comes out of backward (on a 2-core machine a
    900 kB all-reduce over 1 Gbit/s delayed the computation beside it by 1-3 ms). Measured as
    the median over ``repeats`` of how much longer a fixed run of matrix products takes while
    an all-reduce of ``nbytes`` (at most 4 MB) goes through the progress thread than without
    it; ``link_seconds(nbytes)`` is how long that all-reduce takes on the link. 0 at one rank.
    """
    if comm.size == 1:
        return 0.0
    nbytes = int(min(max(nbytes, 64 << 10), CPU_PROBE_MAX_BYTES))
    link_seconds = link_seconds(nbytes)
    buffer = numpy.zeros(nbytes // 4, numpy.float32)
    a = numpy.full((128, 128), 0.5, numpy.float32)
    start = time.perf_counter()
    for _ in range(20):
        a @ a
    per_product = (time.perf_counter() - start) / 20
    # Long enough to cover the whole transfer (at least 2 ms).
    products = max(20, int(1.5 * max(link_seconds, 2e-3) / max(per_product, 1e-7)))
    costs = []
    for _ in range(repeats):
        comm.barrier()
        start = time.perf_counter()
        for _ in range(products):
            a @ a
        alone = time.perf_counter() - start
        comm.barrier()
        start = time.perf_counter()
        request = comm.iallreduce(buffer)
        for _ in range(products):
            a @ a
        beside = time.perf_counter() - start
        request.wait()
        costs.append(beside - alone)
    return max(statistics.median(costs), 0.0) / nbytes


class LayoutPlanner:
    """Collects gradient-ready times and, once enough steps are in, proposes a bucket layout.

    Args:
        n_params: number of parameters (registration order).
    """

    def __init__(self, n_params):
        self.n_params = n_params
        self.ready = [float("inf")] * n_params
        self.steps = 0
        self.link = None   # a Link once planned

    def measures(self, step):
        """True when ``step``'s ready times should be recorded."""
        return MEASURE_FROM_STEP <= step < MEASURE_FROM_STEP + MEASURED_STEPS

    def record(self, step_ready, backward_seconds):
        """Keep the best of each parameter's ready offsets; a parameter without a gradient this
        step counts as ready when backward ended."""
        for i, offset in enumerate(step_ready):
            self.ready[i] = min(self.ready[i], backward_seconds if offset is None else offset)
        self.steps += 1

    def due(self, step):
        """True after the last measured step: time to plan (every rank reaches it together)."""
        return step == MEASURE_FROM_STEP + MEASURED_STEPS - 1 and self.steps == MEASURED_STEPS

    def plan(self, comm, nbytes, dtypes, bucket_cap_bytes):
        """Probe the link and agree with every rank on one layout (collective)."""
        latency, per_byte = probe_link(comm, sum(nbytes))
        cpu = probe_cpu(comm, sum(nbytes), lambda size: latency + per_byte * size)
        # The slowest rank's figures: buckets wait for the last rank to be ready.
        figures = numpy.array(self.ready + [latency, per_byte, cpu], dtype=numpy.float64)
        comm.allreduce(figures, op="max")
        *ready, latency, per_byte, cpu = figures.tolist()
        self.link = Link(latency, per_byte, cpu)
        return measured_bucket_assignment(ready, nbytes, dtypes, latency, per_byte,
                                          bucket_cap_bytes, cpu_seconds_per_byte=cpu)
