"""Bucket boundaries from measurement: when each gradient becomes ready, and how fast the link is.

The reducer records each gradient's ready time (seconds after the first one) in a few early
steps; then every rank probes the link, one all-reduce (max) agrees on the figures, and all
ranks compute the same layout from them (``measured_bucket_assignment``). Step 0 is not
measured: first-touch allocations and MPI's connection setup distort it.
"""
import time

import numpy

from .buckets import measured_bucket_assignment

MEASURE_FROM_STEP = 1
MEASURED_STEPS = 2
PROBE_MAX_BYTES = 64 << 20


def probe_link(comm, nbytes, repeats=3):
    """(latency, seconds per byte) of ``comm``'s all-reduce: the best of ``repeats`` timings of
    an 8-byte and of an ``nbytes`` all-reduce (so a loaded machine counts as little as it can).
    """
    def best(array):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            comm.allreduce(array)
            times.append(time.perf_counter() - start)
        return min(times)

    latency = best(numpy.zeros(1, numpy.float64))
    nbytes = int(min(max(nbytes, 4096), PROBE_MAX_BYTES))
    large = best(numpy.zeros(nbytes // 4, numpy.float32))
    return latency, max(large - latency, 0.0) / nbytes


class LayoutPlanner:
    """Collects gradient-ready times and, once enough steps are in, proposes a bucket layout.

    Args:
        n_params: number of parameters (registration order).
    """

    def __init__(self, n_params):
        self.n_params = n_params
        self.ready = [float("inf")] * n_params
        self.steps = 0
        self.link = None   # (latency, seconds per byte) once planned

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
        # The slowest rank's figures: buckets wait for the last rank to be ready.
        figures = numpy.array(self.ready + [latency, per_byte], dtype=numpy.float64)
        comm.allreduce(figures, op="max")
        *ready, latency, per_byte = figures.tolist()
        self.link = (latency, per_byte)
        return measured_bucket_assignment(ready, nbytes, dtypes, latency, per_byte,
                                          bucket_cap_bytes)
