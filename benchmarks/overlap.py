"""Step time over the same ranks without communication, distgrad beside PyTorch DDP (gloo), on
whatever link the ranks have: run it on the emulated cluster to put a network between them.

    python benchmarks/cluster.py --nodes 2 --rate 1gbit run -- python benchmarks/overlap.py

Variants take turns in blocks of steps (so machine noise falls on all alike); a figure is the
median block of the slowest rank. Then one timeline per distgrad variant: buckets, the part
of communication hidden under backward, and whether bucket 0 started before backward ended.
"""
import argparse
import contextlib
import os

from common import (block_times, distgrad_step, init_gloo, torch, torch_model,  # first: one BLAS thread
                    torch_step)

import numpy

import distgrad
import distgrad.distributed as dist
from distgrad import models, optim
from distgrad.distributed.algorithms.ddp_comm_hooks import default_hooks
from distgrad.distributed.algorithms.ddp_comm_hooks import powerSGD_hook as powerSGD
from distgrad.distributed.communicators import MpiCommunicator


@contextlib.contextmanager
def environment(**values):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update({k: v for k, v in values.items() if v is not None})
    try:
        yield
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def data(batch, rank):
    rng = numpy.random.default_rng(rank)
    xs = rng.standard_normal((batch, 1, 28, 28), dtype=numpy.float32)
    ys = rng.integers(0, 10, batch)
    return xs, ys


def ddp_variants(name, comm, rank_psgd, compression=False):
    """label -> (ddp factory) for the distgrad variants."""
    def plain(**kw):
        return lambda: dist.DDP(models.build(name), **kw)

    def static():
        with environment(DISTGRAD_BUCKET_LAYOUT="static"):
            return dist.DDP(models.build(name))

    def blocking():
        return dist.DDP(models.build(name), process_group=MpiCommunicator(progress="blocking"))

    def hooked(hook, state_fn):
        def make():
            ddp = dist.DDP(models.build(name))
            ddp.register_comm_hook(state_fn(), hook)
            return ddp
        return make

    variants = {"distgrad DDP": plain(), "distgrad DDP, static buckets": static}
    if comm.crosses_network:
        variants["distgrad DDP, blocking wait"] = blocking
    if compression:
        # MPICH sums float16 (and distgrad's bfloat16 op) element by element in software: on
        # the MLP that costs more than the bytes saved.
        for kind in ("fp16", "bf16"):
            variants[f"distgrad DDP + {kind} hook"] = hooked(
                getattr(default_hooks, f"{kind}_compress_hook"), lambda: None)
    for r in rank_psgd:
        variants[f"distgrad DDP + PowerSGD r={r}"] = hooked(
            powerSGD.powerSGD_hook, lambda r=r: powerSGD.PowerSGDState(None, matrix_approximation_rank=r,
                                                     start_powerSGD_iter=2))
    return variants


def build(name, batch, comm, use_torch, rank_psgd, compression=False):
    xs, ys = data(batch, comm.rank)
    x, y = distgrad.tensor(xs), distgrad.tensor(ys)
    steps, ddps = {}, {}
    distgrad.manual_seed(0)
    local = models.build(name)
    steps["distgrad, no communication"] = distgrad_step(
        local, optim.Adam(local.parameters(), lr=1e-3), x, y)
    for label, make in ddp_variants(name, comm, rank_psgd, compression).items():
        distgrad.manual_seed(0)
        ddp = ddps[label] = make()
        steps[label] = distgrad_step(ddp, optim.Adam(ddp.parameters(), lr=1e-3), x, y)
    if use_torch:
        tx, ty = torch.from_numpy(xs), torch.from_numpy(ys)
        plain = torch_model(name)
        steps["PyTorch, no communication"] = torch_step(
            plain, torch.optim.Adam(plain.parameters(), lr=1e-3), tx, ty)
        tm = torch.nn.parallel.DistributedDataParallel(torch_model(name))
        steps["PyTorch DDP/gloo"] = torch_step(tm, torch.optim.Adam(tm.parameters(), lr=1e-3),
                                               tx, ty)
        from torch.distributed.algorithms.ddp_comm_hooks import powerSGD_hook as tpsgd
        for r in rank_psgd:
            tp = torch.nn.parallel.DistributedDataParallel(torch_model(name))
            tp.register_comm_hook(tpsgd.PowerSGDState(None, matrix_approximation_rank=r,
                                                      start_powerSGD_iter=2),
                                  tpsgd.powerSGD_hook)
            steps[f"PyTorch DDP/gloo + PowerSGD r={r}"] = torch_step(
                tp, torch.optim.Adam(tp.parameters(), lr=1e-3), tx, ty)
    return steps, ddps


def step_times(steps, comm, blocks, block_steps, warmup):
    """(median seconds per step, interquartile ratio) of each variant, slowest rank."""
    times = block_times(steps, comm, blocks, block_steps, warmup)
    mine = [float(numpy.median(times[label])) for label in steps]
    spread = [float(numpy.percentile(times[label], 75) / numpy.percentile(times[label], 25))
              for label in steps]
    everyone = comm.allgather_obj((mine, spread))
    worst = [max(v) for v in zip(*(m for m, _ in everyone))]
    noise = [max(v) for v in zip(*(s for _, s in everyone))]
    return {label: (t, n) for label, t, n in zip(steps, worst, noise)}


def timeline_report(name, batch, comm, label, make, steps):
    xs, ys = data(batch, comm.rank)
    timeline = dist.Timeline(max_events=20_000)
    distgrad.manual_seed(0)
    ddp = make()
    ddp.timeline = ddp.reducer.timeline = timeline
    timeline.attach(comm)
    step = distgrad_step(ddp, optim.Adam(ddp.parameters(), lr=1e-3), distgrad.tensor(xs),
                         distgrad.tensor(ys))
    for _ in range(steps):
        step()
    events = timeline.trace_events()
    waits = [e for e in events if e["name"] == "wait for gradients"][-10:]
    firsts = [e for e in events if e["name"] == "allreduce bucket 0"][-10:]
    early = sum(f["ts"] < w["ts"] for f, w in zip(firsts, waits)) if len(ddp.buckets) > 1 else 0
    s = timeline.summary()
    return (len(ddp.buckets), [b.nbytes for b in ddp.buckets], s["hidden_fraction"],
            s["comm_ms_per_step"], s["exposed_ms_per_step"], early, ddp.reducer.link)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=64, help="per rank")
    parser.add_argument("--blocks", type=int, default=9)
    parser.add_argument("--models", nargs="+", default=["cnn", "mlp"])
    parser.add_argument("--powersgd-ranks", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--timelines", action="store_true")
    parser.add_argument("--compression-hooks", action="store_true",
                        help="also the fp16 and bf16 hooks")
    args = parser.parse_args()

    dist.init_process_group()
    comm = dist.get_default_group()
    use_torch = torch is not None and comm.size > 1 and not args.no_torch
    if use_torch:
        init_gloo(comm)
    say = print if comm.rank == 0 else (lambda *a, **k: None)
    rate = os.environ.get("DISTGRAD_CLUSTER_RATE")
    say(f"{comm.size} ranks, link {float(rate) / 1e9:g} Gbit/s" if rate else
        f"{comm.size} ranks, no emulated link", f"(progress: {comm.progress}); batch "
        f"{args.batch}/rank, Adam; median of {args.blocks} interleaved blocks, slowest rank")
    for name in args.models:
        rank_psgd = args.powersgd_ranks if name == "mlp" else []
        steps, ddps = build(name, args.batch, comm, use_torch, rank_psgd,
                            args.compression_hooks)
        block_steps = 20 if name == "mlp" else 3
        times = step_times(steps, comm, args.blocks, block_steps, warmup=2)
        for label, (t, noise) in times.items():
            base = times["PyTorch, no communication" if label.startswith("PyTorch")
                         else "distgrad, no communication"][0]
            say(f"{name} {label:36} {t * 1e3:8.2f} ms/step  {t / base:5.2f}x no-comm  "
                f"(IQR {noise:.2f}x)  buckets {len(ddps[label].buckets) if label in ddps else '-'}",
                flush=True)
        if args.timelines:
            for label, make in ddp_variants(name, comm, rank_psgd,
                                            args.compression_hooks).items():
                report = timeline_report(name, args.batch, comm, label, make,
                                         40 if name == "mlp" else 15)
                everyone = comm.allgather_obj(report)
                say(f"{name} {label}: buckets {report[0]} {report[1]} link {report[6]}; per rank "
                    "hidden %, comm ms, exposed ms, steps (of 10) with bucket 0 before backward end: "
                    + "; ".join(f"{100 * h:.0f}% {c:.2f} {e:.2f} {k}"
                                for _, _, h, c, e, k, _ in everyone), flush=True)
    if use_torch:
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
