"""Time of one optimiser step on the MNIST MLP's parameters (Linear(784,128), Linear(128,10):
4 tensors, ~102k values), beside torch.optim with the same options. One thread.

Run: ``python benchmarks/optim.py [--repeat N]``. PyTorch's CPU default is its per-parameter
loop; its ``foreach=True`` variant is shown too. The ratio is distgrad / torch default.
"bucket" is distgrad's step with the gradients as views of one buffer, as DDP leaves them:
the optimiser then reads that buffer instead of copying the gradients together first.
"""
import argparse

from common import interleaved_medians, torch  # first: pins BLAS to one thread before NumPy loads

import numpy

import distgrad
from distgrad import optim

SHAPES = [(128, 784), (128,), (10, 128), (10,)]
CASES = [
    ("Adam", {}),
    ("Adam", {"weight_decay": 1e-4, "amsgrad": True}),
    ("AdamW", {}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-4}),
    ("RMSprop", {}),
]


def median_us(fns, repeat):
    """Median microseconds of each ``fn()``, taking turns, after 20 warm-up calls each."""
    return [1e6 * t for t in interleaved_medians(fns, repeat, warmup=20)]


def ours(name, options, values, grads, bucket=False):
    """A closure taking one distgrad step (gradients stay set, as after backward); with
    ``bucket`` the gradients lie back to back in one buffer, as in a DDP bucket."""
    params = [distgrad.tensor(v.copy(), requires_grad=True) for v in values]
    flat = numpy.concatenate([g.reshape(-1) for g in grads])
    offset = 0
    for p, g in zip(params, grads):
        if bucket:
            p.grad = distgrad.Tensor(flat[offset:offset + g.size].reshape(g.shape))
            offset += g.size
        else:
            p.grad = g.copy()
    return getattr(optim, name)(params, **options).step


def theirs(name, options, values, grads, foreach):
    """A closure taking one torch.optim step."""
    params = [torch.nn.Parameter(torch.from_numpy(v.copy())) for v in values]
    for p, g in zip(params, grads):
        p.grad = torch.from_numpy(g.copy())
    return getattr(torch.optim, name)(params, foreach=foreach, **options).step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2000, help="timed steps per figure")
    args = parser.parse_args()
    rng = numpy.random.default_rng(0)
    values = [rng.standard_normal(s).astype(numpy.float32) * 0.05 for s in SHAPES]
    grads = [rng.standard_normal(s).astype(numpy.float32) * 1e-3 for s in SHAPES]
    print(f"numpy {numpy.__version__}, torch {torch.__version__ if torch else 'not installed'}; "
          f"one thread; {sum(v.size for v in values)} parameters in {len(values)} tensors; "
          f"median of {args.repeat} steps, us")
    print(f"  {'optimizer':<64}{'distgrad':>10}{'bucket':>10}{'torch':>10}{'foreach':>10}"
          f"{'ratio':>8}")
    for name, options in CASES:
        label = name + "(" + ", ".join(f"{k}={v}" for k, v in options.items()) + ")"
        fns = [ours(name, options, values, grads), ours(name, options, values, grads, True)]
        if torch is None:
            t_ours, t_bucket = median_us(fns, args.repeat)
            print(f"  {label:<64}{t_ours:>10.1f}{t_bucket:>10.1f}")
            continue
        t_ours, t_bucket, t_torch, t_foreach = median_us(
            fns + [theirs(name, options, values, grads, None),
                   theirs(name, options, values, grads, True)], args.repeat)
        print(f"  {label:<64}{t_ours:>10.1f}{t_bucket:>10.1f}{t_torch:>10.1f}{t_foreach:>10.1f}"
              f"{t_ours / t_torch:>8.2f}")


if __name__ == "__main__":
    main()
