"""``distgrad.horovod``'s collectives and DistributedOptimizer at 1, 2 and 3 ranks."""
import numpy
import pytest

import distgrad
import distgrad.horovod as hvd
from distgrad import nn, optim


@pytest.mark.mpi
def test_horovod_collectives(world):
    hvd.init()
    n, r = hvd.size(), hvd.rank()
    assert (n, r) == (world.size, world.rank) and 0 <= hvd.local_rank() < hvd.local_size()
    t = distgrad.tensor([float(r), 1.0])
    assert hvd.allreduce(t).tolist() == [(n - 1) / 2, 1.0] and t.tolist() == [float(r), 1.0]
    assert hvd.allreduce(t, op=hvd.Sum).tolist() == [n * (n - 1) / 2, float(n)]
    assert hvd.allreduce(t, average=False).tolist() == [n * (n - 1) / 2, float(n)]
    assert hvd.allreduce(t, op=hvd.Max).tolist() == [n - 1.0, 1.0]
    assert hvd.allreduce_(t, op=hvd.Sum) is t
    rows = hvd.allgather(distgrad.full((r + 1, 2), float(r)))  # first dimensions differ
    assert rows.shape == (n * (n + 1) // 2, 2)
    assert rows[:, 0].tolist() == [float(i) for i in range(n) for _ in range(i + 1)]
    b = hvd.broadcast(distgrad.tensor([float(r)]), root_rank=n - 1)
    assert b.tolist() == [n - 1.0]
    assert hvd.broadcast_object({"r": r}, root_rank=0) == {"r": 0}
    assert hvd.allgather_object(r) == list(range(n))
    with pytest.raises(ValueError, match="Adasum is not supported"):
        hvd.allreduce(t, op=hvd.Adasum)


@pytest.mark.mpi
def test_broadcast_parameters_and_optimizer_state(world):
    hvd.init()
    distgrad.manual_seed(world.rank)
    model = nn.Linear(3, 2)
    opt = optim.Adam(model.parameters(), lr=0.01 * (world.rank + 1))
    if world.rank == 0:
        model(distgrad.ones(1, 3)).sum().backward()
        opt.step()
    hvd.broadcast_parameters(model.state_dict(), root_rank=0)
    hvd.broadcast_optimizer_state(opt, root_rank=0)
    everyone = hvd.allgather_object((model.weight.tolist(), opt.param_groups[0]["lr"],
                                     sorted(opt.state_dict()["state"])))
    assert all(e == everyone[0] for e in everyone)
    assert everyone[0][1] == 0.01 and everyone[0][2] == [0, 1]


@pytest.mark.mpi
def test_too_many_backward_passes_before_step_are_reported(world):
    hvd.init()
    model = nn.Linear(2, 1)
    opt = hvd.DistributedOptimizer(optim.SGD(model.parameters(), lr=0.1),
                                   named_parameters=model.named_parameters(),
                                   backward_passes_per_step=2)
    assert isinstance(opt, optim.SGD) and opt.param_groups[0]["lr"] == 0.1
    for _ in range(2):
        model(distgrad.ones(1, 2)).sum().backward()
    with pytest.raises(RuntimeError, match="computed 3 times .* backward_passes_per_step=2"):
        model(distgrad.ones(1, 2)).sum().backward()
