"""PowerSGD over real ranks against PyTorch's own hook, value for value: every combination of
error feedback, warm start and rank 1/2, three buckets (one with nothing worth compressing),
a bucket rebuild and an error buffer replaced from outside. Skipped without torch.

At world size one the uncompressed tensors' error is always zero and the average is the
sum; here it is neither, which is where a hook goes wrong quietly.
"""
import contextlib
import itertools
import os
import tempfile

import numpy
import pytest

import distgrad
import distgrad.distributed as dist
from distgrad.distributed.algorithms.ddp_comm_hooks import powerSGD_hook as powerSGD
from distgrad.distributed.buckets import Bucket
from distgrad.distributed.comm_hooks import GradBucket
from test_distributed_comm_hooks import TorchBucket

LAYOUTS = [[(32, 3, 3, 3), (32,), (10, 48), (10,)],   # conv, bias, small matrix, bias
           [(5,), (3,), (1,)],                         # nothing to compress
           [(64, 20), (20,), (7, 7)]]                  # 7 x 7 stays plain at rank 2


@pytest.fixture
def torch_gloo(world, monkeypatch):
    """torch.distributed on the same ranks (gloo through a file store all ranks can see), and
    torch's random draws made NumPy's so that both hooks start from the same Q."""
    torch = pytest.importorskip("torch")
    tdist = torch.distributed
    path = dist.all_gather_object(tempfile.mktemp(prefix="distgrad-gloo-") if
                                  world.rank == 0 else None)[0]
    tdist.init_process_group("gloo", store=tdist.FileStore(path, world.size),
                             rank=world.rank, world_size=world.size)
    generator = []

    def manual_seed(seed):
        generator[:] = [numpy.random.default_rng(seed)]

    def randn(*shape, **_):
        return torch.from_numpy(generator[0].standard_normal(shape).astype(numpy.float32))

    # Our hook draws Q as rng(seed).standard_normal(shape) in float32, the seed taken the same
    # way from the state's RandomState; torch's uses manual_seed(seed) then randn(shape).
    monkeypatch.setattr(torch, "manual_seed", manual_seed)
    monkeypatch.setattr(torch, "randn", randn)
    yield torch
    tdist.barrier()
    tdist.destroy_process_group()
    if world.rank == 0:
        # The store deletes its file once every rank has let go of it, unless one is slow to.
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


def _buckets():
    made = []
    for index, shapes in enumerate(LAYOUTS):
        params = [distgrad.nn.Parameter(distgrad.tensor(numpy.zeros(s, numpy.float32)))
                  for s in shapes]
        made.append(Bucket(index, params, [f"p{i}" for i in range(len(params))]))
    return made


@pytest.mark.mpi
@pytest.mark.parametrize("error_feedback,warm_start,rank",
                         list(itertools.product([True, False], [True, False], [1, 2])))
def test_powersgd_matches_torch_over_ranks(world, torch_gloo, error_feedback, warm_start, rank):
    torch = torch_gloo
    from torch.distributed.algorithms.ddp_comm_hooks import powerSGD_hook as theirs_module
    kw = dict(matrix_approximation_rank=rank, start_powerSGD_iter=2,
              use_error_feedback=error_feedback, warm_start=warm_start)
    ours, theirs = powerSGD.PowerSGDState(None, **kw), theirs_module.PowerSGDState(None, **kw)
    rng = numpy.random.default_rng(100 + world.rank)
    buckets = _buckets()
    for step in range(7):
        if step == 4:
            buckets = _buckets()   # DDP rebuilt its buckets: new buffers, same shapes
        if step == 5 and error_feedback:
            ours.error_dict[0] = ours.error_dict[0].astype(numpy.float64)  # set from outside
        for index, (bucket, shapes) in enumerate(zip(buckets, LAYOUTS)):
            grads = [rng.standard_normal(s).astype(numpy.float32) for s in shapes]
            for view, g in zip(bucket.views, grads):
                view[...] = g
            last = index == len(buckets) - 1
            expected = theirs_module.powerSGD_hook(
                theirs, TorchBucket(torch, grads, index, last)).wait()
            expected = (expected[0] if isinstance(expected, list) else expected).numpy()
            got = powerSGD.powerSGD_hook(ours, GradBucket(bucket, world, last))
            where = f"step {step}, bucket {index}"
            assert got.dtype == numpy.float32, where
            numpy.testing.assert_allclose(got, expected, rtol=1e-4, atol=2e-5, err_msg=where)
            if error_feedback and step >= 2:
                numpy.testing.assert_allclose(ours.error_dict[index],
                                              theirs.error_dict[index].numpy(),
                                              rtol=1e-4, atol=2e-5, err_msg=where)
    assert ours.iter == theirs.iter == 7
    assert ours.compression_stats()[0] == pytest.approx(theirs.compression_stats()[0])
