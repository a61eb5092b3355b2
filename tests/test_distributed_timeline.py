"""The Chrome-trace timeline: event structure, bounded size, atomic save, summary arithmetic."""
import json
import os
import time

import pytest

from distgrad.distributed.communicators import SingleCommunicator
from distgrad.distributed.timeline import COMMUNICATION, COMPUTE, Timeline


def test_spans_and_instants_become_chrome_events(tmp_path):
    tl = Timeline(str(tmp_path / "t.json"))
    tl.attach(SingleCommunicator())
    with tl.span("optimizer", lr=0.1):
        time.sleep(0.002)
    tl.instant("bucket 0 ready", COMMUNICATION, bucket=0)
    events = tl.trace_events()
    meta = [e for e in events if e["ph"] == "M"]
    assert {e["args"]["name"] for e in meta if e["name"] == "thread_name"} == {
        "compute", "communication"}
    assert any(e["name"] == "process_name" and e["args"]["name"] == "rank 0" for e in meta)
    span = next(e for e in events if e["name"] == "optimizer")
    assert span["ph"] == "X" and span["pid"] == 0 and span["tid"] == COMPUTE
    assert span["dur"] >= 2000 and span["ts"] >= 0 and span["args"] == {"lr": 0.1}
    instant = next(e for e in events if e["name"] == "bucket 0 ready")
    assert instant["ph"] == "i" and instant["tid"] == COMMUNICATION and "dur" not in instant


def test_ring_buffer_bounds_the_events():
    tl = Timeline(max_events=50)
    for i in range(1000):
        tl.instant(f"e{i}", COMPUTE)
    events = [e for e in tl.trace_events() if e["ph"] != "M"]
    assert len(events) == 50
    assert events[-1]["name"] == "e999" and events[0]["name"] == "e950"
    assert tl.dropped == 950
    with pytest.raises(ValueError, match="max_events=0"):
        Timeline(max_events=0)


def test_marks_outlive_the_ring_buffer():
    # A layout's link is recorded once, early; a long run must not push it out of the trace.
    tl = Timeline(max_events=3)
    tl.mark("link", COMMUNICATION, cpu_seconds_per_byte=2e-9)
    for i in range(100):
        tl.instant(f"e{i}", COMPUTE)
    names = [e["name"] for e in tl.trace_events() if e["ph"] != "M"]
    assert names == ["link", "e97", "e98", "e99"] and tl.dropped == 97


def test_save_writes_one_valid_file_atomically(tmp_path):
    path = tmp_path / "sub" / "trace.json"
    tl = Timeline(str(path))
    with tl.span("forward"):
        pass
    assert tl.save(comm=SingleCommunicator()) == str(path)
    data = json.loads(path.read_text())
    assert data["displayTimeUnit"] == "ms"
    assert any(e["name"] == "forward" for e in data["traceEvents"])
    assert data["otherData"]["summaries"][0]["rank"] == 0
    assert os.listdir(path.parent) == ["trace.json"]  # no temporary left behind
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    with pytest.raises(ValueError, match="needs a path"):
        Timeline().save(comm=SingleCommunicator())


def test_summary_hidden_fraction_and_bus_bandwidth():
    tl = Timeline()
    tl.world_size = 2
    # backward from t=0 to the wait at t=10; bucket A entirely inside (hidden), bucket B
    # from 8 to 12: half hidden; the main thread waited 10 -> 12.
    tl.record_step(0.0, 10.0, 12.0, [(1000, 1.0, 3.0), (3000, 8.0, 12.0)])
    s = tl.summary()
    assert s["steps"] == 1
    assert s["comm_ms_per_step"] == pytest.approx(6000.0)
    assert s["hidden_fraction"] == pytest.approx(4.0 / 6.0)
    assert s["exposed_ms_per_step"] == pytest.approx(2000.0)
    assert s["bytes_per_step"] == 4000
    assert s["bus_bandwidth_GBps"] == pytest.approx(2 * 1 / 2 * 4000 / 6.0 / 1e9)
    text = tl.format_summary()
    assert "66.7% hidden" in text and "n=2" in text


def test_summary_of_an_empty_run():
    s = Timeline().summary()
    assert s["steps"] == 0 and s["hidden_fraction"] == 0.0 and s["bus_bandwidth_GBps"] == 0.0
