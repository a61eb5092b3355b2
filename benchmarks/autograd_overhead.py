"""Autograd's own cost per op: a chain of cheap ops on a tiny array, forward and backward.

    python benchmarks/autograd_overhead.py

The arrays are so small that the arithmetic is negligible: what is timed is recording the
graph and walking it back. Target: at most 10 µs per op, forward and backward together.

distgrad is timed before PyTorch is imported: a 10,000-node graph keeps ~50,000 Python objects
alive, so CPython's cyclic collector runs full passes during forward, and with torch's ~300,000
objects also in the heap each pass would cost ~90 ms, which measures torch's import rather than
distgrad. The figure with the collector paused is the engine's cost alone.
"""
import argparse
import gc
import statistics
import time

import distgrad


def chain(x, n):
    y = x
    for _ in range(n):
        y = y * 1.0001
    return y.sum()


def per_op(make, ops, repeats):
    """Median µs per op over ``repeats`` chains, after one warm-up chain."""
    chain(make(), ops).backward()
    times = []
    for _ in range(repeats):
        x = make()
        start = time.perf_counter()
        chain(x, ops).backward()
        times.append((time.perf_counter() - start) / ops * 1e6)
    return statistics.median(times)


def measure(make, ops, repeats):
    """``(collector on, collector paused)`` µs per op."""
    on = per_op(make, ops, repeats)
    gc.disable()
    try:
        paused = per_op(make, ops, repeats)
    finally:
        gc.enable()
    return on, paused


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    ours = measure(lambda: distgrad.ones(4, requires_grad=True), args.ops, args.repeats)
    try:
        import torch
        torch.set_num_threads(1)
        theirs = measure(lambda: torch.ones(4, requires_grad=True), args.ops, args.repeats)
    except ImportError:
        theirs = None
    print(f"chain of {args.ops} multiplications on a 4-element array, µs per op (forward + backward)")
    for i, label in enumerate(("collector on", "collector paused")):
        line = f"{label:17} distgrad {ours[i]:6.2f}"
        if theirs:
            line += f"   torch {theirs[i]:6.2f}   ratio {ours[i] / theirs[i]:.2f}"
        print(line)


if __name__ == "__main__":
    main()
