"""Autograd's own cost per op: a chain of cheap ops on a tiny array, forward + backward.

    python benchmarks/autograd_overhead.py

The arrays are so small that the arithmetic is negligible: what is timed is recording the
graph and walking it back. Target: at most 10 µs per op, forward and backward together.

Printed twice: as a program runs by default, and with Python's cyclic garbage collector paused.
A 10,000-node graph keeps ~50,000 Python objects alive at once, which makes the collector run
full passes over the whole heap during forward; PyTorch's graph lives in C++ and never pays
that. Graphs of real models (tens of nodes per step) do not trigger it.
"""
import argparse
import gc
import statistics
import time

from common import torch

import distgrad


def chain(x, n):
    y = x
    for _ in range(n):
        y = y * 1.0001
    return y.sum()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    def per_op(make):
        # Consecutive runs after one warm-up: alternating libraries would make each start on
        # memory the other just returned to the system, and time page faults instead.
        chain(make(), args.ops).backward()
        times = []
        for _ in range(args.repeats):
            x = make()
            start = time.perf_counter()
            chain(x, args.ops).backward()
            times.append((time.perf_counter() - start) / args.ops * 1e6)
        return times

    for label, paused in (("collector on", False), ("collector paused", True)):
        if paused:
            gc.disable()
        ours = statistics.median(per_op(lambda: distgrad.ones(4, requires_grad=True)))
        theirs = per_op(lambda: torch.ones(4, requires_grad=True)) if torch is not None else None
        gc.enable()
        line = f"{label:17} distgrad {ours:6.2f} µs per op (forward + backward, chain of {args.ops})"
        if theirs:
            t = statistics.median(theirs)
            line += f"; torch {t:6.2f} µs; ratio {ours / t:.2f}"
        print(line)


if __name__ == "__main__":
    main()
