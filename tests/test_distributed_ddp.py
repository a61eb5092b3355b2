"""DistributedDataParallel in one process: argument checks, model comparison, world size 1."""

import numpy
import pytest

import distgrad
import distgrad.distributed as dist
from distgrad import nn
from distgrad.distributed import DDP
from distgrad.distributed.communicators import SingleCommunicator
from distgrad.distributed.ddp import verify_same_model


def mlp():
    distgrad.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 2))


def loss_of(model):
    return (model(distgrad.tensor(numpy.ones((3, 6), numpy.float32))) ** 2).mean()


class TwoRankView(SingleCommunicator):
    """Pretends to be rank 0 of 2 whose peer reports ``peer_signature``."""

    def __init__(self, edit):
        self.edit, self.gathered = edit, []

    def allgather_obj(self, obj):
        self.gathered.append(obj)
        return [obj, self.edit(list(obj))]


def test_identical_models_pass_after_one_gather():
    view = TwoRankView(lambda s: s)
    signature = [("parameter", "w", (2, 3), "float32")]
    assert verify_same_model(view, signature) is None
    assert view.gathered == [signature]  # compared across ranks, once


@pytest.mark.parametrize("edit, expected", [
    (lambda s: s[:1] + [("parameter", "1.weight", (5, 6), "float32")] + s[2:],
     "rank 0 has parameter '0.bias' with shape (5,) and dtype float32 but rank 1 has "
     "parameter '1.weight' with shape (5, 6)"),
    (lambda s: s[:2] + [("parameter", "2.weight", (2, 5), "float64")] + s[3:],
     "but rank 1 has parameter '2.weight' with shape (2, 5) and dtype float64"),
    (lambda s: s[:-1], "rank 0 has parameter '2.bias' with shape (2,) and dtype float32 but "
                       "rank 1 has nothing there (rank 0 has 4 entries, rank 1 has 3)"),
])
def test_model_mismatch_names_the_first_difference(edit, expected):
    signature = [("parameter", n, tuple(p.shape), str(p.dtype)) for n, p in mlp().named_parameters()]
    with pytest.raises(ValueError) as info:
        verify_same_model(TwoRankView(edit), signature)
    assert "differs between ranks [0, 1]" in str(info.value)
    assert expected in str(info.value)


def test_needs_an_initialised_group_or_a_communicator():
    if dist.is_initialized():
        dist.destroy_process_group()
    with pytest.raises(RuntimeError, match="init_process_group"):
        DDP(mlp())
    assert DDP(mlp(), process_group=SingleCommunicator()).process_group.size == 1


@pytest.mark.parametrize("kwargs, match", [
    ({"bucket_cap_mb": 0}, "bucket_cap_mb=0 must be positive"),
    ({"check_finite": "warn"}, "check_finite='warn'"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DDP(mlp(), process_group=SingleCommunicator(), **kwargs)


def test_rejects_what_is_not_a_module():
    with pytest.raises(TypeError, match="distgrad.nn.Module, got function"):
        DDP(lambda x: x, process_group=SingleCommunicator())


def test_module_api_passes_through():
    net = mlp()
    ddp = DDP(net, process_group=SingleCommunicator())
    assert ddp.module is net
    assert list(ddp.parameters()) == list(net.parameters())
    assert sorted(ddp.state_dict()) == sorted("module." + k for k in net.state_dict())
    ddp.eval()
    assert not net.training


def test_existing_gradients_move_into_the_buckets():
    net = mlp()
    loss_of(net).backward()
    before = [p.grad.numpy().copy() for p in net.parameters()]
    ddp = DDP(net, process_group=SingleCommunicator())
    for p, g in zip(net.parameters(), before):
        assert numpy.shares_memory(p.grad.array, ddp.buckets[0].buffer)
        numpy.testing.assert_array_equal(p.grad, g)


def test_backward_without_a_ddp_forward_does_not_synchronise():
    ddp = DDP(mlp(), process_group=SingleCommunicator())
    loss_of(ddp.module).backward()          # the module called directly, as PyTorch
    assert ddp.stats.steps == 0
    loss_of(ddp).backward()
    assert ddp.stats.steps == 1


