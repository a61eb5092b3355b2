"""``StagingCommunicator`` — how GPU arrays cross a host-only MPI — run with NumPy "device"
arrays and recording copy functions, on COMM_WORLD and COMM_SELF, so it is checked on any
machine: each call must wait for the device, stage, reduce on the host and copy back."""
import numpy
import pytest

import distgrad.distributed as dist
from distgrad.distributed.communicators import MpiCommunicator, StagingCommunicator


class Device:
    """Stand-ins for the device side: records every sync and copy, in order."""

    def __init__(self):
        self.log = []

    def sync(self, array):
        self.log.append(("sync", array.shape))

    def to_host(self, array):
        self.log.append(("to_host", array.shape))
        return array.copy()

    def to_device(self, host, array):
        self.log.append(("to_device", array.shape))
        numpy.copyto(array, host)


def staging(kind):
    MPI = dist.communicators.load_mpi()
    host = MpiCommunicator(MPI.COMM_WORLD if kind == "world" else MPI.COMM_SELF)
    device = Device()
    return StagingCommunicator(host, device.to_host, device.to_device, sync=device.sync,
                               is_host=lambda a: a.dtype == numpy.int64), device


@pytest.mark.mpi
@pytest.mark.parametrize("kind", ["world", "self"])
def test_allreduce_waits_stages_and_copies_back(kind):
    comm, device = staging(kind)
    n, r = comm.size, comm.rank
    a = numpy.full(7, r + 1.0, dtype=numpy.float32)
    assert comm.allreduce(a) is a
    numpy.testing.assert_array_equal(a, n * (n + 1) / 2)
    assert device.log == [("sync", (7,)), ("to_host", (7,)), ("to_device", (7,))]
    comm.allreduce(a, op="max")
    numpy.testing.assert_array_equal(a, n * (n + 1) / 2)


@pytest.mark.mpi
@pytest.mark.parametrize("kind", ["world", "self"])
def test_iallreduce_copies_back_when_complete(kind):
    comm, device = staging(kind)
    n, r = comm.size, comm.rank
    a = numpy.arange(1000, dtype=numpy.float64) * (r + 1)
    request = comm.iallreduce(a)
    request.wait()
    assert request.test()
    assert device.log == [("sync", (1000,)), ("to_host", (1000,)), ("to_device", (1000,))]
    numpy.testing.assert_array_equal(a, numpy.arange(1000) * n * (n + 1) / 2)
    assert device.log[-1] == ("to_device", (1000,))
    assert [entry[0] for entry in device.log].count("to_device") == 1


@pytest.mark.mpi
@pytest.mark.parametrize("kind", ["world", "self"])
def test_bcast_copies_back_on_the_receivers_only(kind):
    comm, device = staging(kind)
    n, r = comm.size, comm.rank
    a = numpy.full((2, 3), float(r))
    comm.bcast(a, root=n - 1)
    numpy.testing.assert_array_equal(a, n - 1)
    received = ("to_device", (2, 3)) in device.log
    assert received == (r != n - 1)
    with pytest.raises(ValueError, match=f"root={n}"):
        comm.bcast(a, root=n)


@pytest.mark.mpi
@pytest.mark.parametrize("kind", ["world", "self"])
def test_host_arrays_and_objects_go_straight_to_the_host_communicator(kind):
    comm, device = staging(kind)
    n, r = comm.size, comm.rank
    b = numpy.array([r, -r], dtype=numpy.int64)   # is_host says: no staging
    comm.allreduce(b, op="max")
    assert b.tolist() == [n - 1, 0]
    assert comm.allgather_obj(r) == list(range(n))
    assert comm.bcast_obj(("x", r)) == ("x", 0)
    comm.barrier()
    assert device.log == []
    assert (comm.rank, comm.size, comm.local_rank) == (r, n, comm.host_comm.local_rank)
    assert comm.name == "mpi+staging"
    with pytest.raises(ValueError, match="unknown reduction op='avg'"):
        comm.allreduce(numpy.ones(2, numpy.float32), op="avg")
