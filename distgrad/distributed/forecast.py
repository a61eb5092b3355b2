"""A scaling forecast: step time and efficiency at N ranks from one measured run and a link.

From a timeline (``Timeline`` trace: each step's compute time, each bucket's ready time and
bytes) and a link (bandwidth, latency), the all-reduce of a bucket of b bytes over N ranks
in a ring takes ``2 (N - 1) latency + 2 (N - 1) / N * b / bandwidth`` (the alpha-beta
model); buckets go out one after another, each once it is ready and the link is free, and
the step takes its compute time plus whatever communication outlasts backward. Weak scaling:
each rank keeps its batch, so efficiency is compute time / step time. With per-gradient ready
times in the trace (a DDP timeline records them) the buckets can be laid out for each link
as distgrad's measured layout would (``replan``), so a one-node run forecasts a cluster;
that layout charges backward the CPU its transfers take (per byte, from the link probe the
traced run recorded, or given), as the live layout does.

A step's compute is its slowest rank's in the trace (a synchronous step waits for it), so
the traced run's stragglers are in the figure, and so is the CPU its own transfers took.
What it leaves out: that CPU changing with the link and the layout, stragglers growing with
the number of ranks, and the network's topology beyond one link per rank (a full-bisection
switch is assumed).
"""
import json
import statistics
from dataclasses import dataclass, field

from .buckets import measured_bucket_assignment


@dataclass
class Profile:
    """What the forecast needs of a measured run (seconds, bytes)."""

    compute_seconds: float            # one step without waiting for communication
    backward_seconds: float           # first gradient ready -> last gradient ready
    buckets: list = field(default_factory=list)   # [(ready offset, bytes)] in launch order
    steps: int = 0
    world_size: int = 1
    gradients: list = field(default_factory=list)  # [(ready offset, bytes, dtype)] per parameter
    # CPU seconds that moving one byte through a rank's network stack takes from its compute
    # (the live layout's link probe, recorded in the trace; 0 when the run made no probe).
    cpu_seconds_per_byte: float = 0.0


def ring_allreduce_seconds(nbytes, ranks, bandwidth, latency):
    """Seconds of a ring all-reduce of ``nbytes`` over ``ranks`` (bandwidth in bytes/s)."""
    if ranks <= 1:
        return 0.0
    hops = 2 * (ranks - 1)
    return hops * latency + hops / ranks * nbytes / bandwidth


def profile_from_trace(trace, skip_steps=3, rank=None):
    """A ``Profile`` from a Chrome trace written by ``Timeline.save`` (a path or its dict).

    Steps before ``skip_steps`` are left out (warm-up, bucket rebuild); figures are medians
    over the remaining steps, a step's compute being the longest of every rank's (or of
    ``rank``'s only).
    """
    if not isinstance(trace, dict):
        with open(trace) as f:
            trace = json.load(f)
    per = {}
    for e in trace["traceEvents"]:
        step = e.get("args", {}).get("step")
        if step is None or step < skip_steps or (rank is not None and e["pid"] != rank):
            continue
        per.setdefault((e["pid"], step), []).append(e)
    compute, backward, ready, sizes, grads = {}, [], {}, {}, {}
    ranks = {pid for pid, _ in per}
    links = [e["args"] for e in trace["traceEvents"] if e["name"] == "link" and
             (rank is None or e["pid"] == rank)]
    for (pid, step), events in per.items():
        named = {}
        for e in events:
            named.setdefault(e["name"], e)
        this, after = named.get("forward"), per.get((pid, step + 1))
        nxt = next((e for e in after or [] if e["name"] == "forward"), None)
        wait, back = named.get("wait for gradients"), named.get("backward")
        if this is None or nxt is None or wait is None or back is None:
            continue
        compute.setdefault(step, []).append((nxt["ts"] - this["ts"] - wait["dur"]) / 1e6)
        backward.append((wait["ts"] - back["ts"]) / 1e6)
        for e in events:
            if e["name"].startswith("bucket ") and e["name"].endswith(" ready"):
                ready.setdefault(e["args"]["bucket"], []).append((e["ts"] - back["ts"]) / 1e6)
            elif e["name"].startswith("allreduce bucket "):
                sizes[e["args"]["bucket"]] = e["args"]["bytes"]
            elif e["name"] == "gradient ready":
                a = e["args"]
                grads.setdefault(a["param"], (a["bytes"], a["dtype"], []))[2].append(
                    (e["ts"] - back["ts"]) / 1e6)
    if not compute:
        raise ValueError(
            f"the trace holds no complete step after step {skip_steps} (a step needs its "
            "forward, backward, 'wait for gradients' and the next step's forward): record more "
            "steps with a Timeline, or lower skip_steps")
    buckets = [(max(0.0, statistics.median(ready[b])), sizes[b]) for b in sorted(sizes)
               if b in ready]
    gradients = [(max(0.0, statistics.median(grads[i][2])), grads[i][0], grads[i][1])
                 for i in sorted(grads)]
    # A synchronous step waits for its slowest rank: each step's compute is the longest of
    # the ranks' (3 ranks sharing 2 cores took turns; their median hid 10-18% of the step).
    slowest = [max(times) for times in compute.values()]
    # The probe measured CPU per byte of the all-reduced buffer at the run's world size; a
    # ring moves 2 (W - 1) / W of it through each rank: keep it per byte moved.
    cpu = statistics.median(
        [a["cpu_seconds_per_byte"] / _ring_share(a["world_size"]) for a in links]) if links else 0.0
    return Profile(statistics.median(slowest), statistics.median(backward), buckets,
                   len(slowest), max(ranks) + 1, gradients, cpu)


def _ring_share(ranks):
    """Bytes a ring all-reduce moves through each rank, per byte of the buffer."""
    return 2 * (ranks - 1) / ranks if ranks > 1 else 1.0


def planned_buckets(profile, ranks, bandwidth, latency, bucket_cap_bytes=25 << 20,
                    cpu_seconds_per_byte=None):
    """The buckets distgrad's measured layout would build at ``ranks`` ranks on this link
    (``measured_bucket_assignment`` on the profile's gradient ready times), as
    [(ready offset, bytes)]; the profile's own buckets when it has no per-gradient times.
    ``cpu_seconds_per_byte`` (per byte a rank moves; default the profile's, from the traced
    run's link probe) is what the live layout charges to backward for transfers under it."""
    if not profile.gradients or ranks <= 1:
        return list(profile.buckets)
    if cpu_seconds_per_byte is None:
        cpu_seconds_per_byte = profile.cpu_seconds_per_byte
    ready = [g[0] for g in profile.gradients]
    nbytes = [g[1] for g in profile.gradients]
    layout = measured_bucket_assignment(
        ready, nbytes, [g[2] for g in profile.gradients],
        ring_allreduce_seconds(0, ranks, bandwidth, latency),
        ring_allreduce_seconds(1, ranks, bandwidth, 0.0), bucket_cap_bytes,
        cpu_seconds_per_byte=cpu_seconds_per_byte * _ring_share(ranks))
    return [(max(ready[i] for i in b), sum(nbytes[i] for i in b)) for b in layout]


def forecast_step(profile, ranks, bandwidth, latency, overhead=0.0, replan=False,
                  cpu_seconds_per_byte=None):
    """Predicted step at ``ranks`` ranks: a dict of step, exposed and communication seconds,
    efficiency and buckets. ``bandwidth`` is in bytes/s; ``overhead`` seconds are added per
    bucket; ``replan``: the buckets distgrad would lay out for this link (``planned_buckets``,
    which takes ``cpu_seconds_per_byte``) instead of the measured run's."""
    buckets = (planned_buckets(profile, ranks, bandwidth, latency,
                               cpu_seconds_per_byte=cpu_seconds_per_byte) if replan
               else profile.buckets)
    end = 0.0
    comm = 0.0
    for ready, nbytes in buckets:
        seconds = ring_allreduce_seconds(nbytes, ranks, bandwidth, latency)
        seconds += overhead if ranks > 1 else 0.0
        end = max(ready, end) + seconds
        comm += seconds
    exposed = max(0.0, end - profile.backward_seconds)
    step = profile.compute_seconds + exposed
    return {"ranks": ranks, "step_seconds": step, "exposed_seconds": exposed,
            "comm_seconds": comm, "efficiency": profile.compute_seconds / step,
            "buckets": len(buckets)}


def forecast(profile, ranks, bandwidth, latency, overhead=0.0, replan=False,
             cpu_seconds_per_byte=None):
    """``forecast_step`` for each of ``ranks``."""
    return [forecast_step(profile, n, bandwidth, latency, overhead, replan, cpu_seconds_per_byte)
            for n in ranks]


def parse_rate(text):
    """``"10gbit"``, ``"1.5GB/s"``, ``"400mbit"`` or a number of bytes/s -> bytes per second."""
    t = str(text).strip().lower().replace(" ", "")
    units = (("gbit", 1e9 / 8), ("mbit", 1e6 / 8), ("kbit", 1e3 / 8), ("gb/s", 1e9),
             ("mb/s", 1e6), ("kb/s", 1e3))
    for unit, scale in units:
        if t.endswith(unit):
            return float(t[:-len(unit)]) * scale
    try:
        return float(t)
    except ValueError:
        raise ValueError(f"bandwidth {text!r}: expected e.g. 10gbit, 400mbit, 1.5GB/s or a "
                         "number of bytes per second") from None


def parse_seconds(text, what="latency"):
    """``"50us"``, ``"0.2ms"``, ``"2ns"``, ``"1e-5"`` (seconds) -> seconds (``what`` names the
    value in the error)."""
    t = str(text).strip().lower()
    scale = 1.0
    for unit, factor in (("us", 1e-6), ("ms", 1e-3), ("ns", 1e-9), ("s", 1.0)):
        if t.endswith(unit):
            t, scale = t[:-len(unit)], factor
            break
    try:
        value = float(t) * scale
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ValueError(f"{what} {text!r}: expected a time such as 50us, 0.2ms, 2ns or "
                         "seconds, not negative")
    return value


def format_forecast(profile, rows, bandwidth, latency):
    """A table of ``rows`` (from ``forecast``) under a line describing the profile and link."""
    lines = [f"measured: {profile.compute_seconds * 1e3:.2f} ms compute/step, backward "
             f"{profile.backward_seconds * 1e3:.2f} ms, {len(profile.buckets)} bucket(s) of "
             f"{sum(b for _, b in profile.buckets) / 1e6:.3f} MB; link {bandwidth * 8 / 1e9:g} "
             f"Gbit/s, latency {latency * 1e6:g} us, ring all-reduce; CPU "
             f"{profile.cpu_seconds_per_byte * 1e9:.2g} ns per byte moved",
             f"{'ranks':>6} {'buckets':>8} {'step ms':>9} {'comm ms':>9} {'exposed ms':>11} "
             f"{'efficiency':>11}"]
    for r in rows:
        lines.append(f"{r['ranks']:>6} {r['buckets']:>8} {r['step_seconds'] * 1e3:>9.2f} "
                     f"{r['comm_seconds'] * 1e3:>9.2f} {r['exposed_seconds'] * 1e3:>11.2f} "
                     f"{r['efficiency']:>10.1%}")
    return "\n".join(lines)
