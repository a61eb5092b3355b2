"""DistributedDataParallel on GPUs equals one process on the global batch: over MPI through
pinned host memory (any number of ranks sharing the GPUs there are) and over NCCL (one rank
per GPU, at least two). Skipped where CuPy sees no GPU."""
import numpy
import pytest

import distgrad
import distgrad.distributed as dist
from distgrad import backend, optim
from distgrad.distributed import DDP
from distgrad.distributed.communicators import MpiCommunicator, NcclCommunicator, mpi_for_gpu

from test_ddp import PER_RANK, mlp

pytestmark = pytest.mark.skipif(not distgrad.cuda.is_available(),
                                reason="no GPU: CuPy is missing or sees no device")


def batch(size, step):
    rng = numpy.random.default_rng(100 + step)
    return (rng.standard_normal((PER_RANK * size, 12)).astype(numpy.float32),
            rng.standard_normal((PER_RANK * size, 4)).astype(numpy.float32))


def train(model, opt, x, y, device):
    out = model(distgrad.tensor(x, device=device))
    loss = ((out - distgrad.tensor(y, device=device)) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()


def check_against_one_process(comm, device, timeline=None, **ddp_options):
    ref = mlp()
    ddp = DDP(mlp().to(device), process_group=comm, timeline=timeline, **ddp_options)
    opt_ref = optim.Adam(ref.parameters(), lr=0.01)
    opt_ddp = optim.Adam(ddp.parameters(), lr=0.01)
    for step in range(4):
        x, y = batch(comm.size, step)
        train(ref, opt_ref, x, y, "cpu")
        part = slice(comm.rank * PER_RANK, (comm.rank + 1) * PER_RANK)
        train(ddp, opt_ddp, x[part], y[part], device)
    for (name, p), q in zip(ddp.named_parameters(), ref.parameters()):
        assert p.device == device
        numpy.testing.assert_allclose(p.detach().numpy(), q.data, rtol=1e-4, atol=1e-5, err_msg=name)
    return ddp


@pytest.mark.mpi
def test_mpi_staging_through_pinned_memory_matches_one_process(world):
    device = backend.set_device(f"cuda:{world.local_rank % distgrad.cuda.device_count()}")
    comm = mpi_for_gpu(cuda_aware=False)
    ddp = check_against_one_process(comm, device, bucket_cap_mb=1e-6)
    assert comm.name == "mpi+staging" and len(ddp.buckets) > 1
    a = distgrad.full(5, float(comm.rank + 1), device=device).data
    comm.allreduce(a)
    numpy.testing.assert_array_equal(backend.to_numpy(a), comm.size * (comm.size + 1) / 2)


@pytest.mark.mpi
@pytest.mark.parametrize("timed", [False, True])
def test_nccl_on_its_own_stream_matches_one_process(world, timed, tmp_path):
    count = distgrad.cuda.device_count()
    if backend.nccl() is None or world.size < 2 or world.local_size > count:
        pytest.skip("NCCL needs the library and one GPU per rank (at least two ranks)")
    device = backend.set_device(f"cuda:{world.local_rank}")
    comm = NcclCommunicator(MpiCommunicator(), device)
    timeline = dist.Timeline(str(tmp_path / "trace.json")) if timed else None
    try:
        ddp = check_against_one_process(comm, device, timeline=timeline, bucket_cap_mb=1e-6)
        assert ddp.reducer._stream is not None
        if timed:
            summary = timeline.summary()
            assert summary["steps"] == 4 and summary["comm_ms_per_step"] > 0
            names = {e["name"] for e in timeline.trace_events()}
            assert "allreduce bucket 0" in names
        b = distgrad.arange(6, device=device).data.astype(numpy.float32)
        comm.bcast(b, root=world.size - 1)
        comm.allreduce(b, op="max")
        numpy.testing.assert_array_equal(backend.to_numpy(b), numpy.arange(6))
    finally:
        comm.close()
