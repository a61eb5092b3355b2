"""What ``DistributedDataParallel`` costs a backward pass at world size 1, where it has nothing to
average: the bare model's backward beside the wrapped one's, interleaved.

    python benchmarks/ddp_world_size_1.py

DDP leaves gradients where backward put them at world size 1; what remains is its forward
wrapper, the gradient-ready hooks and the end-of-backward callback.
"""
import argparse

from common import interleaved_medians  # first: pins BLAS to one thread before NumPy loads

import numpy

import distgrad
from distgrad import models, nn
from distgrad.distributed import DDP
from distgrad.distributed.communicators import SingleCommunicator


def backward_step(model, x, y):
    def step():
        model.zero_grad(set_to_none=False)
        nn.functional.cross_entropy(model(x), y).backward()
    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    rng = numpy.random.default_rng(0)
    x = distgrad.tensor(rng.standard_normal((args.batch, 1, 28, 28), dtype=numpy.float32))
    y = distgrad.tensor(rng.integers(0, 10, args.batch))
    for name in ("mlp", "cnn"):
        distgrad.manual_seed(0)
        bare = models.build(name)
        distgrad.manual_seed(0)
        wrapped = DDP(models.build(name), process_group=SingleCommunicator())
        repeat = args.repeat if name == "mlp" else args.repeat // 10
        bare_s, ddp_s = interleaved_medians([backward_step(bare, x, y),
                                             backward_step(wrapped, x, y)], repeat, warmup=10)
        print(f"{name} batch {args.batch}: bare {bare_s * 1e3:.3f} ms, DDP {ddp_s * 1e3:.3f} ms, "
              f"DDP adds {(ddp_s - bare_s) * 1e6:+.0f} us per step ({ddp_s / bare_s - 1:+.1%})")


if __name__ == "__main__":
    main()
