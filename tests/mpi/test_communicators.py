"""MPI communicators and the process-group collectives, on COMM_WORLD and on COMM_SELF."""
import numpy
import pytest

import distgrad
import distgrad.distributed as dist
from distgrad.distributed.communicators import MpiCommunicator


def _comm(kind):
    MPI = dist.communicators.load_mpi()
    return MpiCommunicator(MPI.COMM_WORLD if kind == "world" else MPI.COMM_SELF)


@pytest.mark.mpi
@pytest.mark.parametrize("kind", ["world", "self"])
def test_mpi_collectives(kind):
    comm = _comm(kind)
    n, r = comm.size, comm.rank
    a = numpy.full(5, r + 1, dtype=numpy.float32)
    assert comm.allreduce(a) is a
    numpy.testing.assert_array_equal(a, n * (n + 1) / 2)
    b = numpy.array([r, -r], dtype=numpy.int64)
    comm.allreduce(b, op="max")
    assert b.tolist() == [n - 1, 0]
    comm.allreduce(b, op="min")
    assert b.tolist() == [n - 1, 0]
    c = numpy.arange(1000, dtype=numpy.float64) * (r + 1)
    request = comm.iallreduce(c)
    request.wait()
    assert request.test()
    numpy.testing.assert_array_equal(c, numpy.arange(1000) * n * (n + 1) / 2)
    d = numpy.full((2, 3), float(r))
    comm.bcast(d, root=n - 1)
    numpy.testing.assert_array_equal(d, n - 1)
    assert comm.allgather_obj({"r": r}) == [{"r": i} for i in range(n)]
    assert comm.bcast_obj(("x", r), root=0) == ("x", 0)
    comm.barrier()
    assert 0 <= comm.local_rank < comm.local_size <= comm.size
    with pytest.raises(ValueError, match="C-contiguous"):
        comm.allreduce(numpy.ones((4, 4))[:, ::2])
    with pytest.raises(ValueError, match=f"root={n}"):
        comm.bcast(d, root=n)


@pytest.mark.mpi
def test_thread_level_is_at_least_serialized():
    MPI = dist.communicators.load_mpi()
    assert MPI.Query_thread() >= MPI.THREAD_SERIALIZED


@pytest.mark.mpi
def test_local_ranks_partition_the_node(world):
    ranks = dist.all_gather_object((dist.get_local_rank(), dist.get_local_world_size()))
    # On one node (CI) the local ranks are exactly 0..local_size-1.
    sizes = {size for _, size in ranks}
    if len(sizes) == 1 and sizes.pop() == world.size:
        assert sorted(local for local, _ in ranks) == list(range(world.size))


@pytest.mark.mpi
def test_process_group_collectives(world):
    n, r = dist.get_world_size(), dist.get_rank()
    assert (n, r) == (world.size, world.rank)
    t = distgrad.tensor(numpy.full(3, float(r)))
    dist.all_reduce(t)
    numpy.testing.assert_array_equal(t.array, n * (n - 1) / 2)
    a = numpy.full(3, float(r + 1))
    dist.all_reduce(a, op="avg")
    numpy.testing.assert_allclose(a, (n + 1) / 2)
    b = numpy.full(2, float(r))
    dist.broadcast(b, src=n - 1)
    numpy.testing.assert_array_equal(b, n - 1)
    assert dist.all_gather_object(r * 10) == [i * 10 for i in range(n)]
    assert dist.broadcast_object({"from": r}, src=0) == {"from": 0}
    dist.barrier()


@pytest.mark.mpi
def test_naive_reducer_averages_each_gradient(world):
    p = distgrad.nn.Parameter(numpy.zeros(3, numpy.float32))
    q = distgrad.nn.Parameter(numpy.zeros(2, numpy.float32))
    p.grad = numpy.full(3, float(world.rank), numpy.float32)
    dist.NaiveReducer(world).average_gradients([p, q])   # q has no grad: counts as zeros
    numpy.testing.assert_allclose(p.grad, (world.size - 1) / 2)
    numpy.testing.assert_array_equal(q.grad, 0)



@pytest.mark.mpi
def test_pytorch_collectives(world):
    n, r = dist.get_world_size(), dist.get_rank()
    t = distgrad.tensor(numpy.full(4, float(r + 1)))
    work = dist.all_reduce(t, op=dist.ReduceOp.AVG, async_op=True)
    work.wait()
    numpy.testing.assert_allclose(t.numpy(), (n + 1) / 2)
    mine = distgrad.tensor([float(r), 10.0 * r])
    everyone = [distgrad.zeros(2) for _ in range(n)]
    dist.all_gather(everyone, mine)
    assert [e.tolist() for e in everyone] == [[float(i), 10.0 * i] for i in range(n)]
    flat = distgrad.zeros(2 * n)
    dist.all_gather_into_tensor(flat, mine)
    assert flat.tolist() == [v for i in range(n) for v in (float(i), 10.0 * i)]
    gathered = [distgrad.zeros(2) for _ in range(n)] if r == 0 else None
    dist.gather(mine, gathered, dst=0)
    if r == 0:
        assert [g.tolist() for g in gathered] == [[float(i), 10.0 * i] for i in range(n)]
    piece = distgrad.zeros(2)
    pieces = [distgrad.tensor([float(i), -1.0]) for i in range(n)] if r == n - 1 else None
    dist.scatter(piece, pieces, src=n - 1)
    assert piece.tolist() == [float(r), -1.0]
    out = distgrad.zeros(1)
    dist.reduce_scatter(out, [distgrad.tensor([float(i + r)]) for i in range(n)])
    assert out.tolist() == [float(n * r + n * (n - 1) / 2)]
    objects = [None] * n
    dist.all_gather_object(objects, ("rank", r))
    assert objects == [("rank", i) for i in range(n)]
    listed = [r, "x"]
    dist.broadcast_object_list(listed, src=n - 1)
    assert listed == [n - 1, "x"]
    m = distgrad.tensor([float(r)])
    dist.reduce(m, dst=0, op=dist.ReduceOp.MAX)
    if r == 0:
        assert m.tolist() == [n - 1.0]
