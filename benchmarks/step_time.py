"""Median train-step time (forward + backward + Adam) of the MLP and CNN, beside PyTorch.

    python benchmarks/step_time.py                      # CPU, one BLAS thread, batch 64 and 256
    python benchmarks/step_time.py --device cuda --batch 64 256 1024

distgrad's and PyTorch's steps are interleaved one by one, so both see the same machine noise.
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


def measure(name, batch, device, steps, warmup):
    rng = numpy.random.default_rng(0)
    xs = rng.standard_normal((batch, 1, 28, 28), dtype=numpy.float32)
    ys = rng.integers(0, 10, batch)
    distgrad.manual_seed(0)
    model = models.build(name).to(device)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    x, y = distgrad.tensor(xs, device=device), distgrad.tensor(ys, device=device)
    xp = distgrad.get_array_module(x)
    sync = (lambda: xp.cuda.Device().synchronize()) if xp is not numpy else (lambda: None)
    ours = distgrad_step(model, opt, x, y, sync)
    theirs = None
    if torch is not None:
        tdev = "cuda" if device.startswith("cuda") else "cpu"
        tm = torch_model(name).to(tdev)
        tm.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
        topt = torch.optim.Adam(tm.parameters(), lr=1e-3)
        tsync = torch.cuda.synchronize if tdev == "cuda" else (lambda: None)
        theirs = torch_step(tm, topt, torch.from_numpy(xs).to(tdev), torch.from_numpy(ys).to(tdev), tsync)
    for _ in range(warmup):
        ours()
        if theirs:
            theirs()
    t_ours, t_theirs = [], []
    for _ in range(steps):
        t_ours.append(timed(ours))
        if theirs:
            t_theirs.append(timed(theirs))
    return median_ms(t_ours), (median_ms(t_theirs) if theirs else None)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--models", nargs="+", default=["mlp", "cnn"])
    parser.add_argument("--batch", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--steps", type=int, default=None, help="timed steps (default: 200 MLP, 30 CNN)")
    args = parser.parse_args()
    device = distgrad.backend.parse_device(args.device)
    peak = gemm_peak_gflops(device=device)
    print(f"device {device}; float32 GEMM peak (1024³ matmul): {peak:.1f} GFLOP/s")
    print(f"{'model':5} {'batch':>5} {'distgrad ms':>12} {'torch ms':>9} {'ratio':>6} {'GFLOP/s':>8} {'% peak':>7}")
    for name in args.models:
        for batch in args.batch:
            steps = args.steps or (200 if name == "mlp" else 30)
            ours, theirs = measure(name, batch, device, steps, warmup=max(3, steps // 10))
            gflops = train_flops(name, batch) / (ours / 1e3) / 1e9
            ratio = f"{ours / theirs:6.2f}" if theirs else "     -"
            tms = f"{theirs:9.2f}" if theirs else "        -"
            print(f"{name:5} {batch:5d} {ours:12.2f} {tms} {ratio} {gflops:8.1f} {100 * gflops / peak:6.1f}%",
                  flush=True)
    print(f"peak resident memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
