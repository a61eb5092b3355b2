"""Communication under backward: buckets launched while backward still computes, buckets rebuilt
from measured ready times, PyTorch's compression hooks over ranks, the progress thread.

Each test also runs at one rank, where the reference is the process itself.
"""
import numpy
import pytest

import distgrad
import distgrad.distributed as dist
from distgrad import nn
from distgrad.distributed import DDP
from distgrad.distributed.algorithms.ddp_comm_hooks import default_hooks
from distgrad.distributed.algorithms.ddp_comm_hooks import powerSGD_hook as powerSGD
from distgrad.distributed.forecast import profile_from_trace

from test_ddp import batch, mlp, mse, optimizer, shard


def _all_equal(world, value):
    return all(numpy.array_equal(v, value) for v in dist.all_gather_object(value))


@pytest.mark.mpi
def test_measured_layout_is_rebuilt_alike_on_every_rank_and_keeps_the_values(world, monkeypatch):
    monkeypatch.setenv("DISTGRAD_BUCKET_LAYOUT", "measured")
    timeline = dist.Timeline(max_events=10_000)
    ref, ddp = mlp(), DDP(mlp(), bucket_cap_mb=1e-6, timeline=timeline)
    before = [b.param_indices for b in ddp.buckets]
    opt_ref, opt_ddp = optimizer("sgd", ref.parameters()), optimizer("sgd", ddp.parameters())
    for step in range(5):
        x, y = batch(world, step)
        opt_ref.zero_grad()
        mse(ref(distgrad.tensor(x)), y).backward()
        opt_ddp.zero_grad()
        mse(ddp(distgrad.tensor(shard(x, world))), shard(y, world)).backward()
        for p, q in zip(ddp.parameters(), ref.parameters()):
            numpy.testing.assert_allclose(p.grad.array, q.grad.array, rtol=1e-5, atol=1e-6)
            if world.size > 1:   # (one rank leaves gradients where backward put them)
                assert any(numpy.shares_memory(p.grad.array, b.buffer) for b in ddp.buckets)
        opt_ref.step()
        opt_ddp.step()
    layout = [b.param_indices for b in ddp.buckets]
    assert sorted(i for b in layout for i in b) == list(range(len(list(ref.parameters()))))
    assert _all_equal(world, layout)
    if world.size > 1:
        # The link was probed and the layout follows from it (the caps allow one per bucket).
        link = ddp.reducer.link
        assert link.latency > 0 and link.seconds_per_byte >= 0 and link.cpu_seconds_per_byte >= 0
        # The trace carries it, for a forecast's planned layout (per byte a rank moves).
        profile = profile_from_trace({"traceEvents": timeline.trace_events()}, skip_steps=1)
        share = 2 * (world.size - 1) / world.size
        assert profile.cpu_seconds_per_byte == pytest.approx(link.cpu_seconds_per_byte / share)
    else:
        assert layout == before and ddp.reducer.link is None


@pytest.mark.mpi
def test_first_bucket_allreduce_starts_before_backward_ends(world):
    distgrad.manual_seed(0)
    net = nn.Sequential(nn.Linear(384, 384), nn.ReLU(), nn.Linear(384, 384), nn.ReLU(),
                        nn.Linear(384, 384), nn.ReLU(), nn.Linear(384, 16))
    timeline = dist.Timeline(max_events=10_000)
    # One bucket per layer: the last layer's gradients are ready while three layers' backward
    # is still to come.
    ddp = DDP(net, bucket_cap_mb=0.4, timeline=timeline)
    assert len(ddp.buckets) >= 2
    rng = numpy.random.default_rng(world.rank)
    x = distgrad.tensor(rng.standard_normal((512, 384), dtype=numpy.float32))
    for _ in range(6):
        ddp.zero_grad()
        (ddp(x) ** 2).mean().backward()
    events = timeline.trace_events()
    first = {e["args"]["step"]: e["ts"] for e in events if e["name"] == "allreduce bucket 0"}
    end = {e["args"]["step"]: e["ts"] for e in events if e["name"] == "wait for gradients"}
    # Step 0 starts the progress thread with its first bucket (with three ranks on two cores
    # that start was seen to come after backward's end); the steps after it count.
    early = [first[s] < end[s] for s in sorted(end) if s > 0]
    # Every step but a straggler on a loaded machine: the first all-reduce ran under backward.
    assert sum(early) >= len(early) - 1, (first, end)


@pytest.mark.mpi
def test_powersgd_in_ddp_agrees_on_every_rank(world):
    ref, ddp = mlp(), DDP(mlp())
    state = powerSGD.PowerSGDState(None, matrix_approximation_rank=1, start_powerSGD_iter=2)
    ddp.register_comm_hook(state, powerSGD.powerSGD_hook)
    for step in range(4):
        x, y = batch(world, step)
        ref.zero_grad()
        mse(ref(distgrad.tensor(x)), y).backward()
        ddp.zero_grad()
        mse(ddp(distgrad.tensor(shard(x, world))), shard(y, world)).backward()
        grads = [p.grad.array.copy() for p in ddp.parameters()]
        for g in grads:
            assert _all_equal(world, g)
        if step < 2:   # plain averaging before start_powerSGD_iter
            for g, q in zip(grads, ref.parameters()):
                numpy.testing.assert_allclose(g, q.grad.array, rtol=1e-5, atol=1e-6)
        else:          # the 16 x 12 weight is now a rank-1 matrix, the same on every rank
            assert numpy.linalg.matrix_rank(grads[0], tol=1e-5) == 1
    assert state.iter == 4 and state.compression_stats()[0] > 1


@pytest.mark.mpi
@pytest.mark.parametrize("hook", ["fp16", "bf16"])
def test_compression_hooks_average_within_their_precision(world, hook):
    ref, ddp = mlp(), DDP(mlp())
    ddp.register_comm_hook(None, getattr(default_hooks, f"{hook}_compress_hook"))
    x, y = batch(world, 0)
    mse(ref(distgrad.tensor(x)), y).backward()
    mse(ddp(distgrad.tensor(shard(x, world))), shard(y, world)).backward()
    rtol = 2.0 ** -7 if hook == "bf16" else 2.0 ** -9
    for p, q in zip(ddp.parameters(), ref.parameters()):
        numpy.testing.assert_allclose(p.grad.array, q.grad.array, rtol=rtol * world.size,
                                      atol=1e-3)
        assert _all_equal(world, p.grad.array)


@pytest.mark.mpi
def test_iallreduce_on_the_progress_thread_then_a_blocking_call(world):
    a = numpy.full(100_000, world.rank + 1.0)
    b = numpy.full(10, world.rank + 1.0)
    request = world.iallreduce(a)
    world.allreduce(b, op="max")      # waits for the thread first: one thread in MPI at a time
    request.wait()
    assert request.test()
    total = world.size * (world.size + 1) / 2
    numpy.testing.assert_array_equal(a, total)
    numpy.testing.assert_array_equal(b, world.size)


@pytest.mark.mpi
def test_progress_modes(world):
    from distgrad.distributed.communicators import MpiCommunicator
    if not isinstance(world, MpiCommunicator):
        pytest.skip("needs the MPI communicator")
    # Under plain mpiexec every rank is on this node: the blocking wait.
    assert world.progress == "blocking" and not world.crosses_network
    with pytest.raises(ValueError, match="progress='spin'"):
        MpiCommunicator(progress="spin")
    polling = MpiCommunicator(progress="polling")
    a = numpy.full(1000, world.rank + 1.0)
    polling.iallreduce(a).wait()
    numpy.testing.assert_array_equal(a, world.size * (world.size + 1) / 2)
    polling.close()


@pytest.mark.mpi
def test_a_hook_may_start_and_wait_for_its_own_collectives(world):
    def hook(state, bucket):
        buffer = bucket.buffer()
        dist.all_reduce(buffer, async_op=True).wait()   # from the progress thread itself
        buffer /= world.size
        return buffer
    ref, ddp = mlp(), DDP(mlp(), bucket_cap_mb=1e-6)
    ddp.register_comm_hook(None, hook)
    x, y = batch(world, 0)
    mse(ref(distgrad.tensor(x)), y).backward()
    mse(ddp(distgrad.tensor(shard(x, world))), shard(y, world)).backward()
    for p, q in zip(ddp.parameters(), ref.parameters()):
        numpy.testing.assert_allclose(p.grad.array, q.grad.array, rtol=1e-5, atol=1e-6)
