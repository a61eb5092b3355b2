"""DDP train-step time on N ranks vs the same N ranks training without communication, and
aggregate samples/s beside PyTorch DDP (gloo) from the same run.

    OMP_NUM_THREADS=1 mpiexec -n 2 python benchmarks/scaling.py

The no-communication baseline separates the cost of synchronisation from the cost of N
processes sharing caches and memory bandwidth; a hand-written step (backward, then one flat
MPI_Allreduce of all gradients) is the simplest correct alternative to DDP. Variants are measured in interleaved blocks of
steps so that all see the same machine noise; a figure is the median block, slowest rank.
Then, from the timeline, the fraction of communication hidden under backward per bucket cap.
"""
import argparse

from common import (block_times, distgrad_step, start_ranks, torch, torch_model,  # first: pins BLAS to one thread before NumPy loads
                    torch_step)

import numpy

import distgrad
import distgrad.distributed as dist
from distgrad import models, nn, optim


def flat_allreduce_step(model, opt, x, y, comm):
    """The hand-written anchor: backward, then one Allreduce of all gradients packed flat."""
    params = list(model.parameters())
    flat = numpy.zeros(sum(p.array.size for p in params), numpy.float32)

    def step():
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        numpy.concatenate([p.grad.array.reshape(-1) for p in params], out=flat)
        comm.allreduce(flat)
        numpy.multiply(flat, 1.0 / comm.size, out=flat)
        offset = 0
        for p in params:
            p.grad = flat[offset:offset + p.array.size].reshape(p.shape)
            offset += p.array.size
        opt.step()
    return step


def build(name, batch, comm, use_torch):
    rng = numpy.random.default_rng(comm.rank)
    xs = rng.standard_normal((batch, 1, 28, 28), dtype=numpy.float32)
    ys = rng.integers(0, 10, batch)
    x, y = distgrad.tensor(xs), distgrad.tensor(ys)
    steps = {}
    distgrad.manual_seed(0)
    ddp = dist.DDP(models.build(name))
    steps["distgrad DDP"] = distgrad_step(ddp, optim.Adam(ddp.parameters(), lr=1e-3), x, y)
    flat = models.build(name)
    steps["hand-written flat Allreduce"] = flat_allreduce_step(
        flat, optim.Adam(flat.parameters(), lr=1e-3), x, y, comm)
    local = models.build(name)
    steps["distgrad, no communication"] = distgrad_step(
        local, optim.Adam(local.parameters(), lr=1e-3), x, y)
    if use_torch:
        tm = torch.nn.parallel.DistributedDataParallel(torch_model(name))
        steps["PyTorch DDP/gloo"] = torch_step(tm, torch.optim.Adam(tm.parameters(), lr=1e-3),
                                               torch.from_numpy(xs), torch.from_numpy(ys))
    return steps


def step_times(steps, comm, blocks, block_steps, warmup):
    """Median seconds per step of each variant, slowest rank."""
    times = block_times(steps, comm, blocks, block_steps, warmup)
    mine = [float(numpy.median(times[label])) for label in steps]
    return dict(zip(steps, (max(v) for v in zip(*comm.allgather_obj(mine)))))


def hidden_fraction(name, batch, comm, cap, steps):
    rng = numpy.random.default_rng(comm.rank)
    x = distgrad.tensor(rng.standard_normal((batch, 1, 28, 28), dtype=numpy.float32))
    y = distgrad.tensor(rng.integers(0, 10, batch))
    timeline = dist.Timeline(max_events=10_000)
    distgrad.manual_seed(0)
    ddp = dist.DDP(models.build(name), bucket_cap_mb=cap, timeline=timeline)
    step = distgrad_step(ddp, optim.Adam(ddp.parameters(), lr=1e-3), x, y)
    for _ in range(steps):
        step()
    s = timeline.summary()
    everyone = comm.allgather_obj((s["hidden_fraction"], s["comm_ms_per_step"],
                                   s["exposed_ms_per_step"]))
    return len(ddp.buckets), everyone


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=64, help="per rank")
    parser.add_argument("--blocks", type=int, default=15)
    parser.add_argument("--models", nargs="+", default=["mlp", "cnn"])
    parser.add_argument("--bucket-cap-mb", type=float, nargs="+", default=[25, 5, 1, 0.5])
    args = parser.parse_args()

    comm, use_torch = start_ranks()
    say = print if comm.rank == 0 else (lambda *a, **k: None)
    say(f"{comm.size} ranks x 1 thread, batch {args.batch} per rank, Adam; median of "
        f"{args.blocks} interleaved blocks, slowest rank")
    for name in args.models:
        block_steps = 40 if name == "mlp" else 4
        times = step_times(build(name, args.batch, comm, use_torch), comm, args.blocks,
                           block_steps, warmup=2)
        base = times["distgrad, no communication"]
        for label, t in times.items():
            extra = ""
            if label in ("distgrad DDP", "hand-written flat Allreduce"):
                extra = f"  sync overhead {t / base - 1:+.1%} vs no communication"
            elif label.startswith("PyTorch"):
                extra = f"  distgrad DDP / PyTorch DDP throughput: {t / times['distgrad DDP']:.2f}x"
            say(f"{name} {label:28} {t * 1e3:8.3f} ms/step "
                f"{comm.size * args.batch / t:9.0f} samples/s{extra}", flush=True)
    say("hidden communication (timeline; per rank: hidden %, comm ms/step, exposed ms/step)")
    for name in args.models:
        for cap in args.bucket_cap_mb:
            n_buckets, ranks = hidden_fraction(name, args.batch, comm, cap,
                                               200 if name == "mlp" else 40)
            cells = "; ".join(f"r{r}: {100 * h:4.1f}% {c:.3f} {e:.3f}"
                              for r, (h, c, e) in enumerate(ranks))
            say(f"{name} bucket_cap_mb={cap:<4g} {n_buckets} bucket(s)  {cells}", flush=True)
    if use_torch:
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
