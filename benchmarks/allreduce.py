"""Gradient synchronisation of the MLP and CNN: DDP's bucketed path vs one raw MPI_Allreduce.

    OMP_NUM_THREADS=1 mpiexec -n 2 python benchmarks/allreduce.py

For each model, interleaved round by round (in a shuffled order) so that all see the same
machine noise: one in-place MPI_Allreduce of all its gradient bytes (the ceiling); for each
bucket cap, DDP's sync cost end to end (a backward with synchronisation minus the same
backward under no_sync: hooks, hand-offs, scaling and bookkeeping included) and the time
inside its all-reduce calls (scaling included, from ``ddp.stats``); the naive
one-allreduce-per-parameter reference; and torch.distributed (gloo) all_reduce of the same
bytes when torch is importable. Each figure is the slowest rank's median.
"""
import argparse
import time

from common import start_ranks, torch  # first: pins BLAS to one thread before NumPy loads

import numpy

import distgrad.distributed as dist
from distgrad import models


def gradient_graph(params):
    """A loss whose backward only hands each parameter a gradient, last parameter first."""
    loss = None
    for p in params:
        s = p.sum()
        loss = s if loss is None else loss + s
    return loss


def timed_backward(ddp, sync):
    if sync:
        ddp.reducer.prepare_for_backward()
    else:
        ddp.reducer.disarm()
    loss = gradient_graph(ddp.parameters())

    def run():
        loss.backward()
    return run


def measure(name, comm, caps, rounds, warmup, use_torch):
    """Dict of label -> list of seconds, all variants measured once per round."""
    numel = sum(p.array.size for p in models.build(name).parameters())
    flat = numpy.ones(numel, numpy.float32)
    ddps = {cap: dist.DDP(models.build(name), bucket_cap_mb=cap) for cap in caps}
    naive_model = models.build(name)
    for p in naive_model.parameters():
        p.grad = numpy.ones(p.shape, numpy.float32)
    naive = dist.NaiveReducer(comm)
    variants = {"raw": lambda: (lambda: comm.allreduce(flat)),
                "naive": lambda: (lambda: naive.average_gradients(naive_model.parameters()))}
    for cap, ddp in ddps.items():
        variants[("sync", cap)] = lambda ddp=ddp: timed_backward(ddp, True)
        variants[("local", cap)] = lambda ddp=ddp: timed_backward(ddp, False)
    if use_torch:
        t = torch.ones(numel, dtype=torch.float32)
        variants["gloo"] = lambda: (lambda: torch.distributed.all_reduce(t))
    times = {label: [] for label in variants}
    times.update({("inside", cap): [] for cap in caps})
    labels = list(variants)
    order = numpy.random.default_rng(0)   # same seed everywhere: ranks must run the same order
    for i in range(warmup + rounds):
        # A fresh order each round, so no variant always runs in the cache state left by
        # the same predecessor.
        for k in order.permutation(len(labels)):
            label = labels[k]
            run = variants[label]()
            comm.barrier()
            start = time.perf_counter()
            run()
            if i >= warmup:
                times[label].append(time.perf_counter() - start)
                if label[0] == "sync":
                    times[("inside", label[1])].append(ddps[label[1]].stats.comm_seconds)
    return 4 * numel, {cap: len(d.buckets) for cap, d in ddps.items()}, times


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--bucket-cap-mb", type=float, nargs="+", default=[25.0, 0.1])
    args = parser.parse_args()

    comm, use_torch = start_ranks()
    if comm.rank == 0:
        print(f"gradient sync, {comm.size} ranks, 1 thread each, {args.rounds} interleaved "
              "rounds; slowest rank's median")
    for name in ("mlp", "cnn"):
        nbytes, n_buckets, times = measure(name, comm, args.bucket_cap_mb, args.rounds,
                                           args.warmup, use_torch)
        med = {label: float(numpy.median(ts)) for label, ts in times.items()}
        for cap in args.bucket_cap_mb:
            med[("ddp", cap)] = med[("sync", cap)] - med[("local", cap)]
        med = {label: max(values) for label, values in
               zip(med, zip(*comm.allgather_obj(list(med.values()))))}
        raw = med["raw"]
        lines = [f"{name}: {nbytes / 1e3:.0f} kB of float32 gradients",
                 f"  raw MPI_Allreduce              {raw * 1e3:7.3f} ms  "
                 f"{nbytes / raw / 1e9:5.2f} GB/s algorithm bandwidth"]
        for cap in args.bucket_cap_mb:
            sync, inside = med[("ddp", cap)], med[("inside", cap)]
            lines.append(f"  DDP sync, bucket_cap_mb={cap:<6g} {sync * 1e3:7.3f} ms  "
                         f"{raw / sync:5.0%} of raw bandwidth end to end; inside its "
                         f"all-reduce calls {inside * 1e3:.3f} ms = {raw / inside:.0%} "
                         f"({n_buckets[cap]} bucket(s))")
        lines.append(f"  naive per-parameter reference  {med['naive'] * 1e3:7.3f} ms  "
                     f"{raw / med['naive']:5.0%} of raw bandwidth")
        if use_torch:
            lines.append(f"  torch.distributed gloo         {med['gloo'] * 1e3:7.3f} ms  "
                         f"DDP (cap {args.bucket_cap_mb[0]:g}) is "
                         f"{med['gloo'] / med[('ddp', args.bucket_cap_mb[0])]:.1f}x faster")
        if comm.rank == 0:
            print("\n".join(lines), flush=True)
    if use_torch:
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
