"""Check the scaling forecast against measured runs on the emulated cluster.

    python benchmarks/forecast_check.py            # as root: builds the clusters itself

For each node count and link rate: train the model for a few dozen steps with a Timeline on
the emulated cluster (one rank per node), keep the trace and the measured step time, probe
the link's all-reduce bandwidth and latency; then forecast every configuration's step time
from each trace (``distgrad.distributed.forecast``) and print predicted / measured, with the
trace's own buckets and with the buckets planned for each link (``distgrad scaling``'s
default).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))


def worker(model, steps, trace):
    """Under mpiexec: train ``steps`` steps with a timeline; rank 0 prints the step times."""
    import common  # noqa: F401  (one BLAS thread)
    import numpy
    import distgrad
    import distgrad.distributed as dist
    from distgrad import models, nn, optim
    dist.init_process_group()
    comm = dist.get_default_group()
    rng = numpy.random.default_rng(comm.rank)
    x = distgrad.tensor(rng.standard_normal((64, 1, 28, 28), dtype=numpy.float32))
    y = distgrad.tensor(rng.integers(0, 10, 64))
    timeline = dist.Timeline(trace, max_events=200_000)
    distgrad.manual_seed(0)
    ddp = dist.DDP(models.build(model), timeline=timeline)
    opt = optim.Adam(ddp.parameters(), lr=1e-3)
    times = []
    for _ in range(steps):
        comm.barrier()
        start = time.perf_counter()
        loss = nn.functional.cross_entropy(ddp(x), y)
        opt.zero_grad()
        loss.backward()
        with timeline.span("optimizer"):
            opt.step()
        times.append(time.perf_counter() - start)
    # The slowest rank's median after warm-up and the bucket rebuild.
    mine = statistics.median(times[5:])
    slowest = max(comm.allgather_obj(mine))
    timeline.save()
    if comm.rank == 0:
        print(json.dumps({"step": slowest, "link": ddp.reducer.link,
                          "buckets": [b.nbytes for b in ddp.buckets]}), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", nargs=3, metavar=("MODEL", "STEPS", "TRACE"))
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--nodes", type=int, nargs="+", default=[2, 3])
    parser.add_argument("--rates", nargs="+", default=["1gbit", "10gbit"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default="/tmp/distgrad-forecast-check")
    args = parser.parse_args()
    if args.worker:
        model, steps, trace = args.worker
        return worker(model, int(steps), trace)

    import cluster
    from distgrad.distributed.forecast import forecast_step, profile_from_trace
    os.makedirs(args.out, exist_ok=True)
    keys = [(n, r) for n in args.nodes for r in args.rates]
    ratios = {}   # (buckets, source, target) -> [predicted / measured], one per round
    for round_ in range(args.rounds):
        # One round visits every configuration within a minute or so: forecasts are checked
        # against runs of the same round, when the shared machine's load was about the same.
        runs = {}
        for nodes, rate in keys:
            trace = os.path.join(args.out, f"{args.model}-{nodes}-{rate}-{round_}.json")
            with cluster.EmulatedCluster(nodes, rate) as c:
                out = subprocess.run(c.mpiexec([sys.executable, os.path.abspath(__file__),
                                                "--worker", args.model, str(args.steps), trace]),
                                     check=True, capture_output=True, text=True).stdout
                measured = json.loads(out.strip().splitlines()[-1])
                # The link as the ranks see it: small (latency) and 4 MB (bandwidth), medians
                # (what a step meets; the best of five was 5-10% optimistic).
                (_, _, t_small, _), (nbytes, _, t_big, _) = cluster.check(
                    c, sizes=(4096, 4 << 20), repeats=5)
            hops = 2 * (nodes - 1)
            latency = t_small / hops
            bandwidth = hops / nodes * nbytes / max(t_big - t_small, 1e-9)
            runs[(nodes, rate)] = (trace, measured["step"], bandwidth, latency)
            print(f"round {round_}: {args.model} {nodes} nodes {rate}: measured "
                  f"{measured['step'] * 1e3:.2f} ms/step, buckets {measured['buckets']}; link "
                  f"{bandwidth * 8 / 1e9:.3f} Gbit/s, {latency * 1e6:.0f} us/hop", flush=True)
        for source in keys:
            profile = profile_from_trace(runs[source][0], skip_steps=5)
            for target in keys:
                _, measured, bandwidth, latency = runs[target]
                for buckets in ("recorded", "planned"):
                    predicted = forecast_step(profile, target[0], bandwidth, latency,
                                              replan=buckets == "planned")
                    ratios.setdefault((buckets, source, target), []).append(
                        predicted["step_seconds"] / measured)
    for buckets in ("recorded", "planned"):
        which = "the trace's own buckets" if buckets == "recorded" else \
            "buckets planned for the run's link"
        print(f"forecast from the trace of (row) for the run of (column), {which}: "
              f"predicted / measured, median of {args.rounds} round(s)")
        print(" " * 17 + "".join(f"{n} nodes {r:>6}  " for n, r in keys))
        for source in keys:
            print(f"{source[0]} nodes {source[1]:>6}  " + "".join(
                f"{statistics.median(ratios[(buckets, source, t)]):14.3f}  " for t in keys),
                flush=True)


if __name__ == "__main__":
    main()
