"""Process group, launcher detection, communicators, abort hooks and watchdog in one process."""
import datetime
import os
import subprocess
import sys
import threading
import time

import numpy
import pytest

import distgrad.distributed as dist
from distgrad import launcher
from distgrad.distributed import abort, watchdog
from distgrad.distributed.communicators import SingleCommunicator

LAUNCHER_VARIABLES = [v for v, _ in launcher._LAUNCHER_VARIABLES] + [
    "SLURM_PROCID", "SLURM_STEP_ID", "SLURM_NTASKS", "SLURM_STEP_NUM_TASKS"]
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def no_launcher(monkeypatch):
    for variable in LAUNCHER_VARIABLES:
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def fresh_group():
    previous = dist.is_initialized()
    if previous:
        dist.destroy_process_group()
    yield
    if dist.is_initialized():
        dist.destroy_process_group()


@pytest.mark.parametrize("env, expected", [
    ({}, None),
    ({"PMI_RANK": "0", "PMI_SIZE": "1"}, "MPICH / Hydra / Intel MPI"),
    ({"OMPI_COMM_WORLD_SIZE": "4"}, "Open MPI"),
    ({"PMIX_RANK": "3"}, "PMIx (Open MPI 5, Slurm --mpi=pmix)"),
    ({"MPI_LOCALNRANKS": "2"}, "MPICH / Hydra"),
    ({"SLURM_PROCID": "0", "SLURM_NTASKS": "8"}, None),             # inside sbatch, not srun
    ({"SLURM_PROCID": "1", "SLURM_NTASKS": "8", "SLURM_STEP_ID": "0"}, "Slurm srun"),
    ({"SLURM_PROCID": "0", "SLURM_NTASKS": "1", "SLURM_STEP_ID": "0"}, None),
    ({"SLURM_PROCID": "0", "SLURM_NTASKS": "1", "SLURM_STEP_NUM_TASKS": "2",
      "SLURM_STEP_ID": "0"}, "Slurm srun"),
])
def test_detect_launcher(env, expected):
    assert launcher.detect_launcher(env) == expected


def test_auto_without_launcher_is_single(no_launcher, fresh_group):
    dist.init_process_group("auto")
    assert dist.is_initialized()
    assert dist.get_backend() == "single"
    assert (dist.get_rank(), dist.get_world_size()) == (0, 1)
    assert (dist.get_local_rank(), dist.get_local_world_size()) == (0, 1)
    assert dist.get_watchdog() is None
    assert not abort.abort_hooks_installed()


def test_auto_never_imports_mpi4py():
    env = {k: v for k, v in os.environ.items() if k not in LAUNCHER_VARIABLES}
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    code = ("import sys, distgrad.distributed as dist; dist.init_process_group('auto'); "
            "x = __import__('numpy').ones(3); dist.all_reduce(x); dist.barrier(); "
            "print(dist.get_world_size(), 'mpi4py' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "False"]


def test_init_twice_and_reinit(no_launcher, fresh_group):
    dist.init_process_group("single")
    with pytest.raises(RuntimeError, match="already called"):
        dist.init_process_group("single")
    dist.destroy_process_group()
    assert not dist.is_initialized()
    dist.init_process_group("auto")
    assert dist.get_world_size() == 1


def test_uninitialised_errors_say_how_to_fix(fresh_group):
    for fn in (dist.get_rank, dist.get_world_size, dist.barrier):
        with pytest.raises(RuntimeError, match="init_process_group"):
            fn()


@pytest.mark.parametrize("backend", ["tcp", "nccl2"])
def test_unsupported_backend_lists_supported(backend, fresh_group):
    with pytest.raises(ValueError, match="auto, mpi, single"):
        dist.init_process_group(backend)
    assert not dist.is_initialized()


def test_collectives_at_world_size_1(no_launcher, fresh_group):
    dist.init_process_group()
    a = numpy.arange(6, dtype=numpy.float32).reshape(2, 3)
    before = a.copy()
    dist.all_reduce(a)
    dist.all_reduce(a, op="max")
    dist.all_reduce(a, op="avg")
    dist.broadcast(a, src=0)
    numpy.testing.assert_array_equal(a, before)
    t = dist.all_gather_object({"rank": 0})
    assert t == [{"rank": 0}]
    assert dist.broadcast_object("hello") == "hello"
    dist.barrier()
    with pytest.raises(ValueError, match="op='mean'"):
        dist.all_reduce(a, op="mean")
    with pytest.raises(ValueError, match="root=1"):
        dist.broadcast(a, src=1)


def test_single_communicator_is_identity_without_copies():
    comm = SingleCommunicator()
    a = numpy.ones(4)
    assert comm.allreduce(a) is a
    assert comm.bcast(a) is a
    request = comm.iallreduce(a)
    assert request.test()
    request.wait()
    assert comm.allgather_obj(3) == [3]
    assert comm.bcast_obj([1]) == [1]
    assert (comm.rank, comm.size, comm.local_rank, comm.local_size) == (0, 1, 0, 1)
    assert "SingleCommunicator(rank=0, size=1" in repr(comm)


def test_communicator_base_is_abstract():
    with pytest.raises(TypeError):
        dist.CommunicatorBase()


def test_buffer_checks_name_the_problem():
    from distgrad.distributed.communicators.base import check_buffer
    with pytest.raises(ValueError, match="C-contiguous"):
        check_buffer(numpy.ones((4, 4))[:, ::2], "allreduce")
    ro = numpy.ones(3)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        check_buffer(ro, "bcast")
    with pytest.raises(TypeError, match="NumPy array"):
        check_buffer([1.0, 2.0], "allreduce")


@pytest.mark.parametrize("arg, env, expected", [
    (None, {}, 600.0),
    (None, {"DISTGRAD_WATCHDOG_TIMEOUT": "12.5"}, 12.5),
    (None, {"DISTGRAD_WATCHDOG_TIMEOUT": "0"}, 0.0),
    (30, {"DISTGRAD_WATCHDOG_TIMEOUT": "12"}, 30.0),
    (datetime.timedelta(minutes=2), {}, 120.0),
])
def test_watchdog_timeout_resolution(arg, env, expected):
    assert watchdog.resolve_timeout(arg, env) == expected


def test_watchdog_timeout_errors():
    with pytest.raises(ValueError, match="DISTGRAD_WATCHDOG_TIMEOUT='ten'"):
        watchdog.resolve_timeout(None, {"DISTGRAD_WATCHDOG_TIMEOUT": "ten"})
    with pytest.raises(ValueError, match="negative"):
        watchdog.resolve_timeout(-1, {})


def test_watchdog_fires_once_with_what_was_waited_in():
    fired = []
    dog = watchdog.Watchdog(0.2, fired.append, rank=3)
    try:
        done = dog.begin("barrier()")
        dog.end(done)
        time.sleep(0.4)
        assert fired == []       # a finished wait never fires
        dog.begin(lambda: "Allreduce of gradient bucket 2 of 3 in DDP step 17")
        deadline = time.monotonic() + 5
        while not fired and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        dog.stop()
    assert len(fired) == 1
    message = fired[0]
    assert message.startswith("[rank 3] distgrad watchdog: no progress for")
    assert "Allreduce of gradient bucket 2 of 3 in DDP step 17" in message
    assert "DISTGRAD_WATCHDOG_TIMEOUT" in message
    assert "exit code 3" in message and "unknown" in message  # no peers to ask here


def _wait_in_barrier(dog, fired):
    dog.begin("barrier()")
    deadline = time.monotonic() + 5
    while not fired and time.monotonic() < deadline:
        time.sleep(0.02)


def test_watchdog_names_the_code_that_issued_the_collective():
    fired = []
    dog = watchdog.Watchdog(0.2, fired.append, rank=0)
    try:
        _wait_in_barrier(dog, fired)
    finally:
        dog.stop()
    assert len(fired) == 1
    assert "in barrier(), called from test_distributed_process_group.py:" in fired[0]
    assert "in _wait_in_barrier" in fired[0]


def test_describe_caller_names_the_distgrad_entry_point():
    import distgrad
    frames = []

    class Probe(distgrad.nn.Module):
        def forward(self, x):
            frames.append(sys._getframe())
            return x

    entry, caller = watchdog.describe_caller(sys._getframe())
    assert entry is None and caller.startswith("test_distributed_process_group.py:")
    Probe()(1)   # Module.__call__ (distgrad) -> forward (this file): the caller is here
    entry, caller = watchdog.describe_caller(frames[0])
    assert entry is None and caller.endswith("in forward")
    entry, caller = watchdog.describe_caller(frames[0].f_back)
    assert entry == "Module.__call__()" and caller.endswith("in test_describe_caller_names_the_distgrad_entry_point")


def test_last_words_waits_until_a_pipe_reader_took_the_message():
    import subprocess
    code = ("import time, sys; from distgrad.distributed.abort import last_words; "
            "t = time.monotonic(); last_words('x' * 1000, timeout=0.5); "
            "print(round(time.monotonic() - t, 2), file=sys.stdout, flush=True)")
    # Nobody reads stderr for 1 s: last_words gives up after its 0.5 s timeout.
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    out = proc.stdout.readline()
    err = proc.stderr.read()
    proc.wait()
    assert float(out) >= 0.45 and err == "x" * 1000 + "\n"
    # Read at once: it returns as soon as the pipe is empty.
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert float(proc.stdout) < 0.45 and proc.stderr == "x" * 1000 + "\n"


class _RecordingComm(SingleCommunicator):
    rank = 5

    def __init__(self):
        self.aborted = []

    def abort(self, errorcode=1):
        self.aborted.append(errorcode)


def test_abort_hooks_prefix_rank_and_abort(capfd):
    comm = _RecordingComm()
    before = (sys.excepthook, threading.excepthook)
    abort.install_abort_hooks(comm)
    try:
        assert abort.abort_hooks_installed()
        try:
            raise ValueError("boom on this rank")
        except ValueError:
            sys.excepthook(*sys.exc_info())
        err = capfd.readouterr().err   # written to descriptor 2 itself (see last_words)
        assert comm.aborted == [1]
        assert err.startswith("[rank 5] uncaught exception in the main thread")
        assert "[rank 5] ValueError: boom on this rank" in err
        assert all(line.startswith("[rank 5] ") for line in err.strip().split("\n"))

        thread = threading.Thread(target=lambda: 1 / 0, name="worker")
        thread.start()
        thread.join()
        err = capfd.readouterr().err
        assert comm.aborted == [1, 1]
        assert "thread 'worker'" in err and "[rank 5] ZeroDivisionError" in err
    finally:
        abort.uninstall_abort_hooks()
    assert (sys.excepthook, threading.excepthook) == before
    assert not abort.abort_hooks_installed()


@pytest.mark.parametrize("backend", [None, "gloo", "GLOO", "cpu:gloo,cuda:nccl", "auto"])
def test_pytorch_backend_names_map_to_one_process_without_a_launcher(backend, no_launcher, fresh_group):
    dist.init_process_group(backend)
    assert dist.get_backend() == "single" and dist.get_world_size() == 1
    assert dist.is_available()


def test_nccl_without_a_gpu_falls_back_with_a_warning(no_launcher, fresh_group):
    if dist.process_group._nccl_available():
        pytest.skip("this machine has NCCL and a GPU")
    with pytest.warns(UserWarning, match="using MPI on the CPU"):
        dist.init_process_group("nccl", init_method="env://", rank=0, world_size=1)
    assert dist.get_world_size() == 1


def test_world_size_or_rank_that_contradicts_the_launcher_is_named(no_launcher, fresh_group):
    with pytest.raises(ValueError, match=r"rank 0 passed world_size=2.*started 1 process"):
        dist.init_process_group("gloo", world_size=2, rank=0)
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match="rank 0 passed rank=3"):
        dist.init_process_group("gloo", rank=3)


def test_pytorch_collectives_at_world_size_1(no_launcher, fresh_group):
    import distgrad
    dist.init_process_group("gloo")
    t = distgrad.tensor([1.0, 2.0])
    work = dist.all_reduce(t, op=dist.ReduceOp.SUM, async_op=True)
    assert work.wait() and work.is_completed() and t.tolist() == [1.0, 2.0]
    out = [distgrad.zeros(2)]
    dist.all_gather(out, t)
    assert out[0].tolist() == [1.0, 2.0]
    objects = [None]
    dist.all_gather_object(objects, {"a": 1})
    assert objects == [{"a": 1}]
    listed = ["x", 3]
    dist.broadcast_object_list(listed, src=0)
    assert listed == ["x", 3]
    got = distgrad.zeros(2)
    dist.scatter(got, [distgrad.tensor([5.0, 6.0])], src=0)
    assert got.tolist() == [5.0, 6.0]
    dist.reduce_scatter(got, [distgrad.tensor([7.0, 8.0])], op=dist.ReduceOp.MAX)
    assert got.tolist() == [7.0, 8.0]
    with pytest.raises(ValueError, match="tensor_list has 2 entries for a world size of 1"):
        dist.all_gather([got, got], t)
