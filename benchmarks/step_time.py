"""Median train-step time (forward + backward + Adam) of the MLP and CNN, beside PyTorch.

    python benchmarks/step_time.py                      # CPU, one BLAS thread, batch 64 and 256
    python benchmarks/step_time.py --device cuda --batch 64 256 1024

distgrad's and PyTorch's steps are interleaved one by one, so both see the same machine noise.
On a GPU each step is timed with CUDA events around it and ends with a device synchronise
(both libraries queue kernels asynchronously), PyTorch runs on the same GPU when its CUDA
build is installed, and the peak GPU memory of each library is printed per row.
"""
import argparse
import resource

import numpy

from common import gemm_peak_gflops, median_ms, timed, torch, torch_model, train_flops

import distgrad
from distgrad import models, nn, optim


def distgrad_step(model, opt, x, y, sync):
    def step():
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sync()
    return step


def torch_step(model, opt, x, y, sync):
    def step():
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sync()
    return step


class CudaTimer:
    """Seconds one call takes on the GPU: CUDA events before and after, then a synchronise."""

    def __init__(self, cupy):
        self.cupy = cupy

    def __call__(self, fn):
        cuda = self.cupy.cuda
        start = cuda.get_current_stream().record()
        fn()
        end = cuda.get_current_stream().record()
        end.synchronize()
        return cuda.get_elapsed_time(start, end) / 1e3


def measure(name, batch, device, steps, warmup):
    rng = numpy.random.default_rng(0)
    xs = rng.standard_normal((batch, 1, 28, 28), dtype=numpy.float32)
    ys = rng.integers(0, 10, batch)
    distgrad.manual_seed(0)
    model = models.build(name).to(device)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    x, y = distgrad.tensor(xs, device=device), distgrad.tensor(ys, device=device)
    on_gpu = device != "cpu"
    sync = (lambda: distgrad.cuda.synchronize()) if on_gpu else (lambda: None)
    ours = distgrad_step(model, opt, x, y, sync)
    time_ours = CudaTimer(distgrad.backend.cupy) if on_gpu else timed
    theirs = None
    torch_on_device = torch is not None and (not on_gpu or torch.cuda.is_available())
    if torch_on_device:
        tdev = "cuda" if on_gpu else "cpu"
        tm = torch_model(name).to(tdev)
        tm.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in model.state_dict().items()})
        topt = torch.optim.Adam(tm.parameters(), lr=1e-3)
        tsync = torch.cuda.synchronize if tdev == "cuda" else (lambda: None)
        theirs = torch_step(tm, topt, torch.from_numpy(xs).to(tdev), torch.from_numpy(ys).to(tdev), tsync)
    for _ in range(warmup):
        ours()
        if theirs:
            theirs()
    if on_gpu:
        distgrad.cuda.reset_peak_memory_stats()
        if theirs:
            torch.cuda.reset_peak_memory_stats()
    t_ours, t_theirs = [], []
    for _ in range(steps):
        t_ours.append(time_ours(ours))
        if theirs:
            t_theirs.append(timed(theirs))   # ends in torch.cuda.synchronize on a GPU
    memory = None
    if on_gpu:
        memory = (distgrad.cuda.max_memory_allocated() / 2**20,
                  torch.cuda.max_memory_allocated() / 2**20 if theirs else None)
    return median_ms(t_ours), (median_ms(t_theirs) if theirs else None), memory


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--models", nargs="+", default=["mlp", "cnn"])
    parser.add_argument("--batch", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--steps", type=int, default=None, help="timed steps (default: 200 MLP, 30 CNN)")
    args = parser.parse_args()
    device = distgrad.backend.set_device(args.device)
    peak = gemm_peak_gflops(device=device)
    print(f"device {device}; float32 GEMM peak (1024³ matmul): {peak:.1f} GFLOP/s")
    print(f"{'model':5} {'batch':>5} {'distgrad ms':>12} {'torch ms':>9} {'ratio':>6} {'GFLOP/s':>8} {'% peak':>7}")
    for name in args.models:
        for batch in args.batch:
            steps = args.steps or (200 if name == "mlp" else 30)
            ours, theirs, memory = measure(name, batch, device, steps, warmup=max(3, steps // 10))
            gflops = train_flops(name, batch) / (ours / 1e3) / 1e9
            ratio = f"{ours / theirs:6.2f}" if theirs else "     -"
            tms = f"{theirs:9.2f}" if theirs else "        -"
            gpu = ""
            if memory is not None:
                gpu = f"  peak GPU memory {memory[0]:.0f} MiB" + (
                    f" (torch {memory[1]:.0f} MiB)" if memory[1] is not None else "")
            print(f"{name:5} {batch:5d} {ours:12.2f} {tms} {ratio} {gflops:8.1f} "
                  f"{100 * gflops / peak:6.1f}%{gpu}", flush=True)
    print(f"peak resident memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
