"""DistributedDataParallel on N ranks equals one process on the global batch, and its options.

Every rank also computes the one-process reference itself (same init, same data), so each
test compares locally and is just as meaningful at one rank.
"""
import numpy
import pytest

import distgrad
import distgrad.optim
import distgrad.distributed as dist
from distgrad import nn
from distgrad.distributed import DDP, comm_hooks
from distgrad.distributed.communicators import SingleCommunicator

PER_RANK = 4


def mlp(seed=0):
    distgrad.manual_seed(seed)
    return nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU(),
                         nn.Linear(8, 4))


def mse(out, target):
    return ((out - distgrad.tensor(target)) ** 2).mean()


def batch(world, step, per_rank=PER_RANK):
    rng = numpy.random.default_rng(100 + step)
    x = rng.standard_normal((per_rank * world.size, 12)).astype(numpy.float32)
    y = rng.standard_normal((per_rank * world.size, 4)).astype(numpy.float32)
    return x, y


def shard(a, world, per_rank=PER_RANK):
    return a[world.rank * per_rank:(world.rank + 1) * per_rank]


def optimizer(name, params):
    if name == "sgd":
        return distgrad.optim.SGD(params, lr=0.05, momentum=0.9)
    return distgrad.optim.Adam(params, lr=0.01)


def assert_same_parameters(a, b, rtol=1e-5, atol=1e-6):
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        numpy.testing.assert_allclose(p.array, q.array, rtol=rtol, atol=atol, err_msg=name)


@pytest.mark.mpi
@pytest.mark.parametrize("opt", ["sgd", "adam"])
@pytest.mark.parametrize("bucket_cap_mb", [25, 1e-6])
def test_matches_one_process_on_the_global_batch(world, opt, bucket_cap_mb):
    ref, ddp = mlp(), DDP(mlp(), bucket_cap_mb=bucket_cap_mb)
    n_params = len(list(ref.parameters()))
    assert len(ddp.buckets) == (1 if bucket_cap_mb == 25 else n_params)
    opt_ref, opt_ddp = optimizer(opt, ref.parameters()), optimizer(opt, ddp.parameters())
    for step in range(4):
        x, y = batch(world, step)
        opt_ddp.zero_grad()
        mse(ddp(distgrad.tensor(shard(x, world))), shard(y, world)).backward()
        opt_ddp.step()
        opt_ref.zero_grad()
        mse(ref(distgrad.tensor(x)), y).backward()
        opt_ref.step()
    assert ddp.stats.steps == 4
    assert_same_parameters(ddp.module, ref)


@pytest.mark.mpi
def test_no_sync_accumulates_micro_batches(world):
    ref, ddp = mlp(), DDP(mlp(), bucket_cap_mb=1e-6)
    opt_ref, opt_ddp = optimizer("sgd", ref.parameters()), optimizer("sgd", ddp.parameters())
    k = 3
    for step in range(2):
        micro = [batch(world, 10 * step + m) for m in range(k)]
        opt_ddp.zero_grad()
        with ddp.no_sync():
            for x, y in micro[:-1]:
                mse(ddp(distgrad.tensor(shard(x, world))), shard(y, world)).backward()
        assert ddp.stats.steps == step   # nothing was communicated inside no_sync
        x, y = micro[-1]
        mse(ddp(distgrad.tensor(shard(x, world))), shard(y, world)).backward()
        assert ddp.stats.steps == step + 1
        opt_ddp.step()
        opt_ref.zero_grad()
        for x, y in micro:
            mse(ref(distgrad.tensor(x)), y).backward()
        opt_ref.step()
    assert_same_parameters(ddp.module, ref)


class Branchy(nn.Module):
    """A trunk, a head used by every rank, one used only where ``use_b``, one never used."""

    def __init__(self):
        super().__init__()
        distgrad.manual_seed(3)
        self.trunk = nn.Linear(12, 8)
        self.a = nn.Linear(8, 4)
        self.b = nn.Linear(8, 4)
        self.never = nn.Linear(8, 4)

    def forward(self, x, use_b=True):
        h = self.trunk(x).relu()
        out = self.a(h)
        return out + self.b(h) if use_b else out


@pytest.mark.mpi
def test_find_unused_parameters(world):
    ref, ddp = Branchy(), DDP(Branchy(), find_unused_parameters=True, bucket_cap_mb=1e-6)
    opt_ref, opt_ddp = optimizer("sgd", ref.parameters()), optimizer("sgd", ddp.parameters())
    for step in range(3):
        x, y = batch(world, step)
        opt_ddp.zero_grad()
        mse(ddp(distgrad.tensor(shard(x, world)), use_b=world.rank == 0), shard(y, world)).backward()
        # Unused everywhere: no gradient, as in one process (the optimiser skips it).
        assert ddp.module.never.weight.grad is None and ddp.module.never.bias.grad is None
        assert ddp.module.b.weight.grad is not None   # used on rank 0: averaged in
        opt_ddp.step()
        opt_ref.zero_grad()
        total = None
        for r in range(world.size):
            part = mse(ref(distgrad.tensor(x[r * PER_RANK:(r + 1) * PER_RANK]), use_b=r == 0),
                       y[r * PER_RANK:(r + 1) * PER_RANK])
            total = part if total is None else total + part
        (total * (1.0 / world.size)).backward()
        opt_ref.step()
    assert_same_parameters(ddp.module, ref)


@pytest.mark.mpi
def test_unused_parameter_without_the_flag_is_a_clear_error(world):
    ddp = DDP(Branchy())
    x, y = batch(world, 0)
    for _ in range(2):   # the error leaves the reducer ready for the next step
        with pytest.raises(RuntimeError) as info:
            mse(ddp(distgrad.tensor(shard(x, world))), shard(y, world)).backward()
        message = str(info.value)
        assert "'never.weight'" in message and "find_unused_parameters=True" in message
        assert f"on {world.size} of {world.size} rank(s)" in message


class CountingBuffer(nn.Module):
    def __init__(self, start):
        super().__init__()
        self.fc = nn.Linear(3, 2)
        self.register_buffer("count", numpy.full(3, float(start), numpy.float32))

    def forward(self, x, bump):
        self.seen = self.count.array.copy()
        self.count.array += bump
        return self.fc(x)


@pytest.mark.mpi
@pytest.mark.parametrize("broadcast_buffers", [True, False])
def test_buffers_follow_rank_0(world, broadcast_buffers):
    r = world.rank
    ddp = DDP(CountingBuffer(start=r), broadcast_buffers=broadcast_buffers)
    numpy.testing.assert_array_equal(ddp.module.count.data, 0.0)   # rank 0's at construction
    x = distgrad.tensor(numpy.ones((2, 3), numpy.float32))
    with distgrad.no_grad():
        ddp(x, bump=r + 1)
        ddp(x, bump=r + 1)
    # Each forward first takes rank 0's buffer (which rank 0 bumped by 1).
    expected = 1.0 if broadcast_buffers else float(r + 1)
    numpy.testing.assert_array_equal(ddp.module.seen, expected)


@pytest.mark.mpi
def test_batchnorm_statistics_agree_after_a_forward(world):
    distgrad.manual_seed(0)
    ddp = DDP(nn.Sequential(nn.Linear(6, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 2)))
    rng = numpy.random.default_rng(world.rank)
    ddp(distgrad.tensor(rng.standard_normal((8, 6)).astype(numpy.float32)))  # local stats differ
    ddp.eval()
    with distgrad.no_grad():
        ddp(distgrad.tensor(numpy.zeros((1, 6), numpy.float32)))
    stats = dist.all_gather_object([b.array.copy() for b in ddp.buffers()])
    for other in stats:
        for a, b in zip(other, stats[0]):
            numpy.testing.assert_array_equal(a, b)


@pytest.mark.mpi
def test_every_rank_ends_with_identical_parameters(world):
    distgrad.manual_seed(world.rank)   # different init per rank: construction must fix it
    ddp = DDP(nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 4)))
    opt = optimizer("adam", ddp.parameters())
    for step in range(3):
        x, y = batch(world, step)
        opt.zero_grad()
        mse(ddp(distgrad.tensor(shard(x, world))), shard(y, world)).backward()
        opt.step()
    everyone = dist.all_gather_object([p.array.tobytes() for p in ddp.parameters()])
    assert all(params == everyone[0] for params in everyone)


@pytest.mark.mpi
def test_gradients_are_views_of_the_buckets(world):
    ddp = DDP(mlp(), bucket_cap_mb=1e-6)
    plain = DDP(mlp(), gradient_as_bucket_view=False)
    for step in range(2):
        x, y = batch(world, step)
        for model in (ddp, plain):
            model.zero_grad(set_to_none=True)
            mse(model(distgrad.tensor(shard(x, world))), shard(y, world)).backward()
        buffers = [b.buffer for b in ddp.buckets]
        for p, q in zip(ddp.parameters(), plain.parameters()):
            # At world size 1 DDP stands aside (nothing to average): plain gradients.
            views = sum(numpy.shares_memory(p.grad, buf) for buf in buffers)
            assert views == (1 if world.size > 1 else 0)
            assert not any(numpy.shares_memory(q.grad, b.buffer) for b in plain.buckets)
            numpy.testing.assert_allclose(p.grad, q.grad, rtol=1e-6, atol=1e-7)


@pytest.mark.mpi
def test_fp16_compression_is_close_to_float32(world):
    exact, compressed, short = DDP(mlp()), DDP(mlp()), DDP(mlp())
    compressed.register_comm_hook(None, comm_hooks.fp16_compress_hook)
    short.register_comm_hook(comm_hooks.fp16_compress_hook)  # API.md's one-argument form
    x, y = batch(world, 0)
    for model in (exact, compressed, short):
        mse(model(distgrad.tensor(shard(x, world))), shard(y, world)).backward()
    for p, q in zip(exact.parameters(), compressed.parameters()):
        numpy.testing.assert_allclose(q.grad, p.grad, rtol=2e-3, atol=1e-4)
    assert any(not numpy.array_equal(p.grad, q.grad)
               for p, q in zip(exact.parameters(), compressed.parameters()))
    for p, q in zip(compressed.parameters(), short.parameters()):
        numpy.testing.assert_array_equal(p.grad, q.grad)
    with pytest.raises(RuntimeError, match="before the first backward"):
        compressed.register_comm_hook(None, comm_hooks.allreduce_hook)


@pytest.mark.mpi
def test_a_custom_comm_hook_sees_every_bucket(world):
    seen = []

    def hook(state, bucket):
        seen.append((bucket.index(), bucket.is_last(), len(bucket.parameters())))
        return comm_hooks.allreduce_hook(state, bucket)

    ref, ddp = DDP(mlp()), DDP(mlp(), bucket_cap_mb=1e-6)
    ddp.register_comm_hook(None, hook)
    x, y = batch(world, 0)
    for model in (ref, ddp):
        mse(model(distgrad.tensor(shard(x, world))), shard(y, world)).backward()
    assert seen == [(i, i == 5, 1) for i in range(6)]
    for p, q in zip(ref.parameters(), ddp.parameters()):
        numpy.testing.assert_allclose(q.grad, p.grad, rtol=1e-6, atol=1e-7)


def _poison_on_last_rank(world, ddp):
    # A NaN only in the output bias, whose bucket is launched first: the flag raised there
    # must survive until it is reduced with the last bucket.
    if world.rank == world.size - 1:
        ddp.module[4].bias.register_hook(lambda g: g * numpy.float32("nan"))


@pytest.mark.mpi
def test_check_finite_skip_is_decided_by_every_rank_in_the_same_step(world):
    ddp = DDP(mlp(), bucket_cap_mb=1e-6, check_finite="skip")
    x, y = batch(world, 0)
    mse(ddp(distgrad.tensor(shard(x, world))), shard(y, world)).backward()
    assert ddp.last_step_finite
    _poison_on_last_rank(world, ddp)
    ddp.zero_grad()
    mse(ddp(distgrad.tensor(shard(x, world))), shard(y, world)).backward()
    assert dist.all_gather_object((ddp.stats.steps, ddp.last_step_finite)) == [(2, False)] * world.size


@pytest.mark.mpi
def test_a_nonfinite_loss_marked_on_one_rank_reaches_every_rank(world):
    ddp = DDP(mlp(), bucket_cap_mb=1e-6, check_finite="skip")
    x, y = batch(world, 0)
    loss = mse(ddp(distgrad.tensor(shard(x, world))), shard(y, world))
    if world.rank == world.size - 1:
        ddp.reducer.mark_nonfinite()   # e.g. its loss was inf while its gradients were finite
    loss.backward()
    assert dist.all_gather_object(ddp.last_step_finite) == [False] * world.size
    mse(ddp(distgrad.tensor(shard(x, world))), shard(y, world)).backward()
    assert ddp.last_step_finite      # one step only


@pytest.mark.mpi
def test_check_finite_raise_raises_on_every_rank(world):
    ddp = DDP(mlp(), bucket_cap_mb=1e-6, check_finite=True)
    _poison_on_last_rank(world, ddp)
    x, y = batch(world, 0)
    with pytest.raises(FloatingPointError, match="every rank raises"):
        mse(ddp(distgrad.tensor(shard(x, world))), shard(y, world)).backward()


@pytest.mark.mpi
def test_world_size_1_needs_no_communication(world):
    ddp, plain = DDP(mlp(), process_group=SingleCommunicator()), mlp()
    assert ddp.reducer._stream is None and ddp.reducer._planner is None
    x, y = batch(world, 0)
    mse(ddp(distgrad.tensor(x)), y).backward()
    mse(plain(distgrad.tensor(x)), y).backward()
    for p, q in zip(ddp.parameters(), plain.parameters()):
        numpy.testing.assert_array_equal(p.grad, q.grad)


@pytest.mark.mpi
def test_naive_reference_gives_the_same_gradients(world):
    ddp, naive = DDP(mlp(), bucket_cap_mb=1e-6), mlp()
    x, y = batch(world, 0)
    mse(ddp(distgrad.tensor(shard(x, world))), shard(y, world)).backward()
    mse(naive(distgrad.tensor(shard(x, world))), shard(y, world)).backward()
    dist.NaiveReducer(world).average_gradients(naive.parameters())
    for p, q in zip(ddp.parameters(), naive.parameters()):
        numpy.testing.assert_allclose(p.grad, q.grad, rtol=1e-6, atol=1e-7)


@pytest.mark.mpi
def test_timeline_collects_every_rank(world, mpi_tmp_path):
    import json
    path = mpi_tmp_path / "trace.json"
    timeline = dist.Timeline(str(path), max_events=1000)
    ddp = DDP(mlp(), bucket_cap_mb=1e-6, timeline=timeline)
    opt = optimizer("sgd", ddp.parameters())
    for step in range(3):
        x, y = batch(world, step)
        opt.zero_grad()
        mse(ddp(distgrad.tensor(shard(x, world))), shard(y, world)).backward()
        with timeline.span("optimizer"):
            opt.step()
    written = timeline.save()
    summary = timeline.summary()
    assert summary["steps"] == 3 and 0.0 <= summary["hidden_fraction"] <= 1.0
    assert summary["bytes_per_step"] == sum(b.nbytes for b in ddp.buckets)
    if world.rank == 0:
        assert written == str(path)
        events = json.loads(path.read_text())["traceEvents"]
        assert {e["pid"] for e in events} == set(range(world.size))
        names = {e["name"] for e in events if e["pid"] == world.size - 1}
        assert {"forward", "backward", "optimizer", "wait for gradients",
                "allreduce bucket 0", "bucket 5 ready"} <= names
    else:
        assert written is None
