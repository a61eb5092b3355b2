"""Autograd's own cost per op: a chain of cheap ops on a tiny array, forward + backward.

    python benchmarks/autograd_overhead.py

The arrays are so small that the arithmetic is negligible: what is timed is recording the
graph and walking it back. Target: at most 10 µs per op, forward and backward together.
"""
import argparse
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
    ours, theirs = [], []
    for _ in range(args.repeats):
        x = distgrad.ones(4, requires_grad=True)
        start = time.perf_counter()
        chain(x, args.ops).backward()
        ours.append((time.perf_counter() - start) / args.ops * 1e6)
        if torch is not None:
            tx = torch.ones(4, requires_grad=True)
            start = time.perf_counter()
            chain(tx, args.ops).backward()
            theirs.append((time.perf_counter() - start) / args.ops * 1e6)
    print(f"distgrad: {statistics.median(ours):.2f} µs per op (forward + backward), chain of {args.ops}")
    if theirs:
        t = statistics.median(theirs)
        print(f"torch:    {t:.2f} µs per op; ratio {statistics.median(ours) / t:.2f}")


if __name__ == "__main__":
    main()
