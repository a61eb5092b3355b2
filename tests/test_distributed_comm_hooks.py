"""PyTorch's DDP communication hooks under their PyTorch paths: PowerSGD, fp16/bf16 compression,
checked value for value against torch's own hooks at world size 1."""
import numpy
import pytest

import distgrad
import distgrad.distributed as dist
from distgrad.distributed.algorithms.ddp_comm_hooks import default_hooks
from distgrad.distributed.algorithms.ddp_comm_hooks import powerSGD_hook as powerSGD
from distgrad.distributed.buckets import Bucket
from distgrad.distributed.comm_hooks import GradBucket
from distgrad.distributed.communicators import SingleCommunicator
from distgrad.distributed.communicators.bfloat16 import from_bfloat16_bits, to_bfloat16_bits


def _bucket(shapes, grads, tail=0):
    params = [distgrad.nn.Parameter(distgrad.tensor(numpy.zeros(s, numpy.float32)))
              for s in shapes]
    bucket = Bucket(0, params, [f"p{i}" for i in range(len(params))], tail=tail)
    for view, g in zip(bucket.views, grads):
        view[...] = g
    return bucket, GradBucket(bucket, SingleCommunicator(), is_last=True)


class TorchBucket:
    """What torch's hooks read of a bucket, over torch tensors (copies of ``grads``)."""

    def __init__(self, torch, grads, index=0, last=True):
        self.flat = torch.cat([torch.from_numpy(g.copy()).reshape(-1) for g in grads])
        self._views, at = [], 0
        for g in grads:
            self._views.append(self.flat[at:at + g.size].view(g.shape))
            at += g.size
        self._index, self._last = index, last

    def buffer(self):
        return self.flat

    def gradients(self):
        return self._views

    def index(self):
        return self._index

    def is_last(self):
        return self._last


@pytest.fixture
def torch_world():
    torch = pytest.importorskip("torch")
    tdist = torch.distributed
    if not tdist.is_initialized():
        tdist.init_process_group("gloo", store=tdist.HashStore(), rank=0, world_size=1)
    yield torch
    tdist.destroy_process_group()


def test_pytorch_paths_and_the_old_name():
    assert dist.fp16_compress_hook is default_hooks.fp16_compress_hook
    assert dist.algorithms.ddp_comm_hooks.powerSGD_hook.powerSGD_hook is powerSGD.powerSGD_hook
    assert default_hooks.allreduce_hook is dist.allreduce_hook


def test_bfloat16_bits_match_torch():
    torch = pytest.importorskip("torch")
    rng = numpy.random.default_rng(0)
    x = numpy.concatenate([rng.standard_normal(1000).astype(numpy.float32) * 1e3,
                           numpy.array([0, -0.0, 1e-40, 3.4e38, -3.4e38, numpy.inf, -numpy.inf],
                                       numpy.float32)])
    expected = torch.from_numpy(x).to(torch.bfloat16)
    bits = to_bfloat16_bits(x)
    assert bits.dtype == numpy.uint16
    numpy.testing.assert_array_equal(bits, expected.view(torch.int16).numpy().view(numpy.uint16))
    numpy.testing.assert_array_equal(from_bfloat16_bits(bits), expected.float().numpy())
    assert numpy.isnan(from_bfloat16_bits(to_bfloat16_bits(numpy.float32([numpy.nan])))).all()


def test_bf16_and_fp16_hooks_match_torch_round_trips():
    torch = pytest.importorskip("torch")
    g = numpy.random.default_rng(1).standard_normal((5, 7)).astype(numpy.float32)
    for hook, dtype in ((default_hooks.bf16_compress_hook, torch.bfloat16),
                        (default_hooks.fp16_compress_hook, torch.float16)):
        _, grad_bucket = _bucket([(5, 7)], [g])
        out = hook(None, grad_bucket)
        assert out is grad_bucket.buffer() and out.dtype == numpy.float32
        numpy.testing.assert_array_equal(out.reshape(5, 7),
                                         torch.from_numpy(g).to(dtype).float().numpy())


def test_powersgd_state_checks_and_defaults():
    state = powerSGD.PowerSGDState(None)
    assert (state.matrix_approximation_rank, state.start_powerSGD_iter, state.min_compression_rate,
            state.use_error_feedback, state.warm_start) == (1, 1000, 2, True, True)
    with pytest.raises(ValueError, match="start_powerSGD_iter=1"):
        powerSGD.PowerSGDState(None, start_powerSGD_iter=1)
    powerSGD.PowerSGDState(None, start_powerSGD_iter=1, use_error_feedback=False, warm_start=False)
    with pytest.raises(ValueError, match="matrix_approximation_rank=0"):
        powerSGD.PowerSGDState(None, matrix_approximation_rank=0)


def test_powersgd_plain_average_before_start():
    g = numpy.arange(12, dtype=numpy.float32).reshape(3, 4)
    state = powerSGD.PowerSGDState(None, start_powerSGD_iter=3)
    _, grad_bucket = _bucket([(3, 4)], [g])
    powerSGD.powerSGD_hook(state, grad_bucket)
    numpy.testing.assert_array_equal(grad_bucket.buffer().reshape(3, 4), g)
    assert state.iter == 1 and state.compression_stats()[0] == 0


@pytest.mark.parametrize("rank", [1, 2])
def test_powersgd_matches_torch_step_for_step(torch_world, rank):
    torch = torch_world
    from torch.distributed.algorithms.ddp_comm_hooks import powerSGD_hook as tpsgd
    rng = numpy.random.default_rng(rank)
    shapes = [(32, 3, 3, 3), (32,), (10, 48), (10,)]
    kw = dict(matrix_approximation_rank=rank, start_powerSGD_iter=2)
    ours, theirs = powerSGD.PowerSGDState(None, **kw), tpsgd.PowerSGDState(None, **kw)
    for step in range(4):
        grads = [rng.standard_normal(s).astype(numpy.float32) for s in shapes]
        bucket, grad_bucket = _bucket(shapes, grads)
        tbucket = TorchBucket(torch, grads)
        if step == 2:
            # The first compressed step draws Q at random (torch.randn there, NumPy here):
            # start ours from torch's draw, then both continue on their own.
            tpsgd.powerSGD_hook(theirs, tbucket).wait()
            ours.error_dict = {0: theirs.error_dict[0].numpy().copy()}
            ours.q_memory_dict = {0: theirs.q_memory_dict[0].numpy().copy()}
            ours.p_memory_dict = {0: theirs.p_memory_dict[0].numpy().copy()}
            ours.iter += 1
            continue
        expected = tpsgd.powerSGD_hook(theirs, tbucket).wait()
        # torch's plain all-reduce future holds a list, its PowerSGD future the tensor.
        expected = (expected[0] if isinstance(expected, list) else expected).numpy()
        out = powerSGD.powerSGD_hook(ours, grad_bucket)
        numpy.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
        if step == 3:
            numpy.testing.assert_allclose(ours.error_dict[0], theirs.error_dict[0].numpy(),
                                          rtol=1e-4, atol=1e-5)
    assert ours.iter == theirs.iter == 4
    assert ours.compression_stats()[0] == pytest.approx(theirs.compression_stats()[0])


def test_powersgd_averages_the_control_tail_untouched():
    g = numpy.random.default_rng(3).standard_normal((16, 16)).astype(numpy.float32)
    bucket, grad_bucket = _bucket([(16, 16)], [g], tail=3)
    bucket.tail[...] = [0.0, 1.0, 1.0]
    state = powerSGD.PowerSGDState(None, start_powerSGD_iter=2)
    state.iter = 2
    powerSGD.powerSGD_hook(state, grad_bucket)
    numpy.testing.assert_array_equal(bucket.tail, [0.0, 1.0, 1.0])
    assert state.error_dict[0].shape == (256,)
    # Rank 1 of a 16 x 16 matrix: what is kept plus the error is the gradient.
    numpy.testing.assert_allclose(bucket.grads + state.error_dict[0], g.reshape(-1), atol=1e-5)
    assert numpy.linalg.matrix_rank(bucket.views[0], tol=1e-4) == 1


def test_powersgd_leaves_an_empty_parameter_plain():
    g = numpy.random.default_rng(4).standard_normal((16, 16)).astype(numpy.float32)
    bucket, grad_bucket = _bucket([(0, 5), (16, 16)], [numpy.zeros((0, 5), numpy.float32), g])
    state = powerSGD.PowerSGDState(None, start_powerSGD_iter=2)
    state.iter = 2
    assert powerSGD.powerSGD_hook(state, grad_bucket).shape == (256,)
    assert numpy.linalg.matrix_rank(bucket.views[1], tol=1e-4) == 1
