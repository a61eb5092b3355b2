"""Forward + backward time of the CNN's layers (conv2d, max_pool2d, cross_entropy), beside PyTorch.

Shapes are the MNIST CNN's: conv1 (B,1,28,28)*(32,1,3,3) → pool → conv2 (B,32,13,13) *
(64,32,3,3) → pool → (B,64,5,5), logits (B,10). One BLAS thread.
Run: ``python benchmarks/ops.py [--repeat N] [--batch B ...]``.
"""
import argparse
import ctypes
import glob
import os

from common import interleaved_medians, torch  # first: pins BLAS to one thread before NumPy loads

import numpy

import distgrad
from distgrad.autograd.function import ArrayFunction
from distgrad.ops import conv2d, cross_entropy, max_pool2d

F = torch.nn.functional if torch is not None else None


def median_ms(fns, repeat):
    """Median milliseconds of each of ``fns``, taking turns, after two warm-up calls each."""
    return [1e3 * t for t in interleaved_medians(fns, repeat, warmup=2)]


def blas_core():
    """The kernel family OpenBLAS picked (``OPENBLAS_CORETYPE`` overrides it), if findable."""
    libs = glob.glob(os.path.join(os.path.dirname(numpy.__file__), os.pardir, "numpy.libs",
                                  "libscipy_openblas*.so"))
    for path in libs:
        lib = ctypes.CDLL(path)
        for name in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename"):
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.restype = ctypes.c_char_p
                return fn().decode()
    return "unknown"


class Activation(ArrayFunction):
    """Stands for the layer before: it passes its input on, and drops the gradient that comes
    back, which inside the network flows on to that layer. Without it the input would be a
    leaf whose ``.grad`` is a copy of the gradient — a cost the network does not have."""

    def forward(self, x):
        return x

    def backward(self, gy):
        return None


def fwd_bwd(op, inputs, grad_output):
    """A closure running ``op(*inputs)`` and its backward with ``grad_output``."""
    def step():
        for t in inputs:
            t.grad = None
        out = op(*inputs)
        out.backward(grad_output)
    return step


def like(array, rng):
    """Random values in an array with ``array``'s shape *and memory order* (what backward gets)."""
    out = numpy.empty_like(array)
    out[...] = rng.standard_normal(array.shape)
    return out


def layers(batch, rng):
    """(name, distgrad step, torch step or None) for each of the CNN's layers at ``batch``."""
    def param(*shape):
        return rng.standard_normal(shape).astype(numpy.float32) * 0.1

    x1 = rng.random((batch, 1, 28, 28), dtype=numpy.float32)
    w1, b1, w2, b2 = param(32, 1, 3, 3), param(32), param(64, 32, 3, 3), param(64)
    logits, target = param(batch, 10), rng.integers(0, 10, batch)
    # distgrad's inputs come from the previous layer, so they have the memory order they
    # have inside the network (conv and pool produce channels-last memory).
    with distgrad.no_grad():
        a1 = conv2d(distgrad.tensor(x1), distgrad.tensor(w1), distgrad.tensor(b1)).relu()
        p1 = max_pool2d(a1, 2)
        a2 = conv2d(p1, distgrad.tensor(w2), distgrad.tensor(b2)).relu()
    cases = [
        ("conv1", conv2d, [distgrad.tensor(x1), w1, b1]),
        ("pool1", lambda x: max_pool2d(Activation.apply(x), 2), [a1.array]),
        ("conv2", lambda x, w, b: conv2d(Activation.apply(x), w, b), [p1.array, w2, b2]),
        ("pool2", lambda x: max_pool2d(Activation.apply(x), 2), [a2.array]),
        ("cross_entropy", lambda x: cross_entropy(Activation.apply(x), target), [logits]),
    ]
    torch_ops = {
        "conv1": F.conv2d, "conv2": F.conv2d, "pool1": lambda x: F.max_pool2d(x, 2),
        "pool2": lambda x: F.max_pool2d(x, 2),
        "cross_entropy": lambda x: F.cross_entropy(x, torch.from_numpy(target)),
    } if torch is not None else {}
    out = []
    for name, op, arrays in cases:
        ours = [a if isinstance(a, distgrad.Tensor) else distgrad.Tensor(a, requires_grad=True)
                for a in arrays]
        with distgrad.no_grad():
            y = op(*ours).array
        step = fwd_bwd(op, ours, like(y, rng) if y.ndim else None)
        theirs = None
        if name in torch_ops:
            tin = [torch.from_numpy(numpy.ascontiguousarray(t.array)).requires_grad_(t.requires_grad)
                   for t in ours]
            ty = torch_ops[name](*tin)
            tgy = torch.from_numpy(rng.standard_normal(ty.shape).astype(numpy.float32)) \
                if ty.ndim else None
            theirs = fwd_bwd(torch_ops[name], tin, tgy)
        out.append((name, step, theirs))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="timed runs per figure")
    parser.add_argument("--batch", type=int, nargs="+", default=[64, 256])
    args = parser.parse_args()
    print(f"numpy {numpy.__version__}, OpenBLAS kernels: {blas_core()}, "
          f"torch {torch.__version__ if torch else 'not installed'}; one thread; "
          f"median of {args.repeat}, forward + backward, ms")
    rng = numpy.random.default_rng(0)
    for batch in args.batch:
        print(f"\nbatch {batch}")
        print(f"  {'op':<14}{'distgrad':>10}{'torch':>10}{'ratio':>8}")
        total_ours = total_theirs = 0.0
        for name, ours, theirs in layers(batch, rng):
            if theirs is None:
                t_ours, = median_ms([ours], args.repeat)
                total_ours += t_ours
                print(f"  {name:<14}{t_ours:>10.3f}")
                continue
            t_ours, t_theirs = median_ms([ours, theirs], args.repeat)
            total_ours += t_ours
            total_theirs += t_theirs
            print(f"  {name:<14}{t_ours:>10.3f}{t_theirs:>10.3f}{t_ours / t_theirs:>8.2f}")
        ratio = f"{total_ours / total_theirs:>8.2f}" if total_theirs else ""
        print(f"  {'sum':<14}{total_ours:>10.3f}{total_theirs or float('nan'):>10.3f}{ratio}")


if __name__ == "__main__":
    main()
