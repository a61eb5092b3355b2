"""The progress thread behind ``MpiCommunicator.submit``: order, requests, failures."""
import threading
import time

import pytest

from distgrad.distributed.communicators import ProgressThread, SingleCommunicator


def test_jobs_run_in_order_on_one_other_thread():
    thread, seen = ProgressThread(), []
    requests = [thread.submit(lambda i=i: (time.sleep(0.002 * (3 - i)),
                                           seen.append((i, threading.get_ident()))))
                for i in range(3)]
    requests[-1].wait()
    assert [i for i, _ in seen] == [0, 1, 2]
    assert {ident for _, ident in seen} == {thread.ident} != {threading.get_ident()}
    assert all(r.test() for r in requests) and thread.idle()
    thread.close()


def test_a_failure_fails_that_request_and_every_later_one():
    thread, ran = ProgressThread(), []
    ok = thread.submit(lambda: ran.append("ok"))
    bad = thread.submit(lambda: 1 / 0)
    later = thread.submit(lambda: ran.append("later"))
    ok.wait()
    with pytest.raises(RuntimeError, match="communication thread failed: ZeroDivisionError"):
        bad.wait()
    with pytest.raises(RuntimeError):
        later.wait()
    assert ran == ["ok"]   # the collective sequence is broken: later jobs do not run
    thread.close()


def test_a_job_sees_whether_the_caller_is_waiting_for_it():
    # Across a network the MPI job sleeps between tests while the caller computes, and spins
    # once the caller waits (its core is free then).
    thread, seen = ProgressThread(), []
    looked = threading.Event()

    def job():
        seen.append(thread.caller_waiting)   # the caller is still computing ...
        looked.set()
        deadline = time.monotonic() + 5
        while not thread.caller_waiting and time.monotonic() < deadline:
            time.sleep(0.001)
        seen.append(thread.caller_waiting)

    request = thread.submit(job)
    assert looked.wait(5)
    request.wait()     # ... then waits for it
    assert seen == [False, True]
    assert not thread.caller_waiting
    thread.close()


def test_drain_waits_for_everything_submitted():
    thread, done = ProgressThread(), []
    for i in range(5):
        thread.submit(lambda i=i: (time.sleep(0.001), done.append(i)))
    thread.drain()
    assert done == [0, 1, 2, 3, 4]
    thread.close()


def test_a_communicator_without_a_thread_runs_work_at_once():
    seen = []
    request = SingleCommunicator().submit(lambda: seen.append(threading.get_ident()))
    assert seen == [threading.get_ident()] and request.test()
