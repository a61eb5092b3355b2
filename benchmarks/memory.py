"""Resident memory over many CNN train steps: after warm-up it must not grow.

    python benchmarks/memory.py --steps 500

Prints RSS after warm-up and at the end; a graph that outlived its step, or saved arrays never
released, would show as steady growth.
"""
import argparse
import os

import numpy

import common  # noqa: F401  (one BLAS thread)
import distgrad
from distgrad import models, nn, optim


def rss_mib():
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=50)
    args = parser.parse_args()
    rng = numpy.random.default_rng(0)
    distgrad.manual_seed(0)
    model = models.build("cnn")
    opt = optim.Adam(model.parameters(), lr=1e-3)
    samples = []
    for step in range(args.steps):
        x = distgrad.tensor(rng.standard_normal((args.batch, 1, 28, 28), dtype=numpy.float32))
        y = distgrad.tensor(rng.integers(0, 10, args.batch))
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step >= args.warmup and step % 25 == 0:
            samples.append(rss_mib())
    growth = samples[-1] - samples[0]
    slope = numpy.polyfit(numpy.arange(len(samples)) * 25, samples, 1)[0]
    print(f"RSS after warm-up {samples[0]:.1f} MiB, after {args.steps} steps {samples[-1]:.1f} MiB: "
          f"growth {growth:+.1f} MiB ({slope * 1000:+.2f} MiB per 1000 steps)")


if __name__ == "__main__":
    main()
