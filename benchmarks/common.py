"""Shared bits of the benchmarks: one BLAS thread, the workloads, FLOP counts, medians."""
import os
import statistics
import sys
import time

# One BLAS/OpenMP thread unless the caller says otherwise: set before NumPy loads its BLAS.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

try:
    import torch  # noqa: E402
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
except ImportError:
    torch = None


def median_ms(times):
    """Median of a list of seconds, in milliseconds."""
    return 1e3 * statistics.median(times)


def interleaved_medians(fns, repeat, warmup):
    """Median seconds of each of ``fns`` after ``warmup`` calls each. The functions take turns,
    so a load change on the (shared) machine falls on all of them alike."""
    for fn in fns:
        for _ in range(warmup):
            fn()
    times = [[] for _ in fns]
    for _ in range(repeat):
        for fn, spent in zip(fns, times):
            start = time.perf_counter()
            fn()
            spent.append(time.perf_counter() - start)
    return [statistics.median(spent) for spent in times]


def timed(fn):
    """Seconds one call of ``fn`` takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def gemm_peak_gflops(n=1024, repeats=5, device="cpu"):
    """This machine's float32 GEMM rate (GFLOP/s) on an n³ matmul, best of ``repeats``."""
    import distgrad
    xp = distgrad.backend.array_module_for(device)
    a = xp.asarray(numpy.random.default_rng(0).standard_normal((n, n), dtype=numpy.float32))
    b = a.copy()
    sync = (lambda: xp.cuda.Device().synchronize()) if xp is not numpy else (lambda: None)
    best = min(timed(lambda: (a @ b, sync())) for _ in range(repeats))
    return 2 * n ** 3 / best / 1e9


def train_flops(model_name, batch):
    """FLOPs of one train step (forward + backward; the first layer needs no input gradient)."""
    if model_name == "mlp":
        layers = [784 * 128, 128 * 10]
    else:
        layers = [26 * 26 * 32 * 9, 11 * 11 * 64 * 288, 1600 * 128, 128 * 10]
    forward = sum(2 * batch * n for n in layers)
    backward = 2 * forward - 2 * batch * layers[0]
    return forward + backward


def torch_model(name):
    """The PyTorch twin of ``distgrad.models.build(name)``."""
    tnn = torch.nn
    if name == "mlp":
        return tnn.Sequential(tnn.Flatten(), tnn.Linear(784, 128), tnn.ReLU(), tnn.Dropout(0.2),
                              tnn.Linear(128, 10))
    return tnn.Sequential(tnn.Conv2d(1, 32, 3), tnn.ReLU(), tnn.MaxPool2d(2),
                          tnn.Conv2d(32, 64, 3), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
                          tnn.Linear(1600, 128), tnn.ReLU(), tnn.Linear(128, 10))


def start_ranks():
    """Initialise distgrad's process group and, when torch is importable and there are several
    ranks, torch's gloo group over the same ranks; returns ``(communicator, use_torch)``."""
    import distgrad.distributed as dist
    dist.init_process_group()
    comm = dist.get_default_group()
    use_torch = torch is not None and comm.size > 1
    if use_torch:
        init_gloo(comm)
    return comm, use_torch


def init_gloo(comm):
    """torch.distributed's gloo group over the same ranks as ``comm`` (for side-by-side runs)."""
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    port = comm.bcast_obj(os.environ.get("MASTER_PORT", str(29500 + os.getpid() % 2000)))
    os.environ["MASTER_PORT"] = port
    torch.distributed.init_process_group("gloo", rank=comm.rank, world_size=comm.size)


def distgrad_step(model, opt, x, y):
    """One distgrad train step (forward, cross-entropy, backward, optimiser) as a closure."""
    from distgrad import nn   # here, not at the top: this module must load before NumPy does

    def step():
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def torch_step(model, opt, x, y):
    """One PyTorch train step (forward, cross-entropy, backward, optimiser) as a closure."""
    def step():
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def block_times(steps, comm, blocks, block_steps, warmup):
    """Seconds per step of each of ``steps`` (label -> function), one figure per block of
    ``block_steps`` steps on this rank; the variants take turns block by block (after
    ``warmup`` blocks) and start each block together, so all see the same machine noise."""
    times = {label: [] for label in steps}
    for b in range(warmup + blocks):
        for label, step in steps.items():
            comm.barrier()
            start = time.perf_counter()
            for _ in range(block_steps):
                step()
            if b >= warmup:
                times[label].append((time.perf_counter() - start) / block_steps)
    return times

