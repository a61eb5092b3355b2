"""The scaling forecast: the alpha-beta ring model, profiles read from timelines, the command."""
import json

import pytest

from distgrad.cli.main import main
from distgrad.distributed.forecast import (Profile, forecast, forecast_step, parse_rate,
                                           parse_seconds, profile_from_trace,
                                           ring_allreduce_seconds)


def test_ring_allreduce_is_two_n_minus_one_hops():
    # 1 MB over 4 ranks at 1 GB/s with 10 us hops: 6 hops, 1.5 MB on each link.
    assert ring_allreduce_seconds(1e6, 4, 1e9, 1e-5) == pytest.approx(6e-5 + 1.5e-3)
    assert ring_allreduce_seconds(1e6, 1, 1e9, 1e-5) == 0.0
    # Bytes per link approach 2x the buffer; latency grows linearly.
    assert ring_allreduce_seconds(1e6, 256, 1e9, 0) == pytest.approx(2 * 255 / 256 * 1e-3)


def test_hidden_communication_costs_nothing_and_the_rest_is_exposed():
    profile = Profile(compute_seconds=0.030, backward_seconds=0.020,
                      buckets=[(0.001, 1_000_000), (0.020, 1_000)])
    two = forecast_step(profile, 2, 125e6, 0.0)      # 1 Gbit/s: 8 ms, under backward
    assert two["exposed_seconds"] == pytest.approx(1_000 / 125e6)
    assert two["efficiency"] == pytest.approx(0.030 / two["step_seconds"])
    slow = forecast_step(profile, 2, 12.5e6, 0.0)    # 100 Mbit/s: 80 ms, mostly exposed
    assert slow["exposed_seconds"] == pytest.approx(0.001 + 0.080 + 1e-3 * 0.080 - 0.020)
    rows = forecast(profile, [2, 4, 256], 125e6, 1e-5)
    assert [r["ranks"] for r in rows] == [2, 4, 256]
    assert rows[0]["step_seconds"] <= rows[1]["step_seconds"] <= rows[2]["step_seconds"]
    assert forecast_step(profile, 1, 125e6, 1e-5)["step_seconds"] == 0.030


def test_units():
    assert parse_rate("1gbit") == 125e6 and parse_rate("10Gbit") == 1.25e9
    assert parse_rate("1.5GB/s") == 1.5e9 and parse_rate("2e6") == 2e6
    assert parse_seconds("50us") == pytest.approx(5e-5) and parse_seconds("0.2ms") == 2e-4
    assert parse_seconds("2ns") == pytest.approx(2e-9) and parse_seconds("1e-5") == 1e-5
    for bad in ("soon", "-3us"):
        with pytest.raises(ValueError, match=f"--cpu-per-byte '{bad}'"):
            parse_seconds(bad, "--cpu-per-byte")
    with pytest.raises(ValueError, match="bandwidth 'fast'"):
        parse_rate("fast")


def _trace(steps=6):
    """A two-rank trace: 10 ms steps, backward from 4 to 9 ms, two buckets, 1 ms waits."""
    events = []
    for pid in (0, 1):
        for s in range(steps):
            t0 = s * 10_000.0
            events += [
                {"name": "forward", "ph": "X", "pid": pid, "ts": t0, "dur": 3000, "args": {"step": s}},
                {"name": "backward", "ph": "X", "pid": pid, "ts": t0 + 4000, "dur": 6000,
                 "args": {"step": s}},
                {"name": "bucket 0 ready", "ph": "i", "pid": pid, "ts": t0 + 4500,
                 "args": {"bucket": 0, "step": s}},
                {"name": "allreduce bucket 0", "ph": "X", "pid": pid, "ts": t0 + 4500, "dur": 2000,
                 "args": {"bucket": 0, "bytes": 800, "step": s}},
                {"name": "bucket 1 ready", "ph": "i", "pid": pid, "ts": t0 + 9000,
                 "args": {"bucket": 1, "step": s}},
                {"name": "allreduce bucket 1", "ph": "X", "pid": pid, "ts": t0 + 9000, "dur": 1000,
                 "args": {"bucket": 1, "bytes": 80, "step": s}},
                {"name": "wait for gradients", "ph": "X", "pid": pid, "ts": t0 + 9000,
                 "dur": 1000, "args": {"step": s}},
            ]
    return {"traceEvents": events}


def test_profile_from_a_trace(tmp_path):
    profile = profile_from_trace(_trace(), skip_steps=2)
    assert profile.compute_seconds == pytest.approx(0.009)
    assert profile.backward_seconds == pytest.approx(0.005)
    assert profile.buckets == [(pytest.approx(0.0005), 800), (pytest.approx(0.005), 80)]
    assert (profile.steps, profile.world_size) == (3, 2)
    assert profile.cpu_seconds_per_byte == 0.0    # no link probe recorded
    with pytest.raises(ValueError, match="no complete step after step 6"):
        profile_from_trace(_trace(), skip_steps=6)


def test_a_step_takes_its_slowest_ranks_compute():
    trace = _trace()
    # Rank 1 computes 1 ms longer (and waits that much less) in steps 2 and 4, rank 0 0.5 ms
    # longer in step 3.
    waits = {(1, 2): 0.0, (1, 4): 0.0, (0, 3): 500.0}
    for e in trace["traceEvents"]:
        if e["name"] == "wait for gradients":
            e["dur"] = waits.get((e["pid"], e["args"]["step"]), e["dur"])
    profile = profile_from_trace(trace, skip_steps=2)
    # Per step the longer of the two: 10, 9.5, 10 ms -> 10 (the six ranks' median: 9.25).
    assert profile.compute_seconds == pytest.approx(0.010)
    assert (profile.steps, profile.world_size) == (3, 2)


def test_profile_takes_the_recorded_link_cpu_per_byte_moved():
    trace = _trace()
    # Three ranks each move 2 (3 - 1) / 3 of the buffer: 3 ns per buffer byte, 2.25 per moved.
    trace["traceEvents"] += [
        {"name": "link", "ph": "i", "pid": pid, "ts": 12_000.0,
         "args": {"step": 1, "world_size": 3, "latency": 1e-4, "seconds_per_byte": 8e-9,
                  "cpu_seconds_per_byte": cpu}} for pid, cpu in ((0, 3e-9), (1, 3e-9))]
    assert profile_from_trace(trace, skip_steps=2).cpu_seconds_per_byte == pytest.approx(2.25e-9)


def test_scaling_command(tmp_path, capsys):
    path = tmp_path / "trace.json"
    path.write_text(json.dumps(_trace()))
    assert main(["scaling", str(path), "--bandwidth", "1gbit", "--latency", "10us",
                 "--ranks", "2,8"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("measured: 9.00 ms compute/step") and "2 bucket(s)" in out[0]
    assert [line.split()[0] for line in out[2:]] == ["2", "8"]
    assert main(["scaling", str(tmp_path / "missing.json")]) == 2
    assert "distgrad scaling: error" in capsys.readouterr().err
    assert main(["scaling", str(path), "--cpu-per-byte", "2ns", "--ranks", "2"]) == 0
    assert "CPU 2 ns per byte moved" in capsys.readouterr().out
    assert main(["scaling", str(path), "--cpu-per-byte", "fast"]) == 2
    assert "--cpu-per-byte 'fast'" in capsys.readouterr().err


def test_buckets_planned_for_the_link_from_gradient_ready_times():
    from distgrad.distributed.forecast import planned_buckets
    # One bucket in the measured run; its large gradient was ready early in backward.
    profile = Profile(compute_seconds=0.030, backward_seconds=0.020,
                      buckets=[(0.020, 1_010_000)],
                      gradients=[(0.020, 10_000, "<f4"), (0.001, 1_000_000, "<f4")])
    slow = planned_buckets(profile, 2, 125e6, 1e-5)                 # 1 Gbit/s: split
    assert slow == [(0.001, 1_000_000), (0.020, 10_000)]
    assert planned_buckets(profile, 2, 1e12, 1e-5) == [(0.020, 1_010_000)]   # nothing to hide
    recorded = forecast_step(profile, 2, 125e6, 1e-5)
    planned = forecast_step(profile, 2, 125e6, 1e-5, replan=True)
    assert (recorded["buckets"], planned["buckets"]) == (1, 2)
    assert planned["exposed_seconds"] < 0.2 * recorded["exposed_seconds"]
    # Where moving a byte costs backward as much CPU as the link takes to send it, hiding
    # gains nothing: one bucket, as the live layout would keep (from the profile or given).
    profile.cpu_seconds_per_byte = 8e-9
    assert planned_buckets(profile, 2, 125e6, 1e-5) == [(0.020, 1_010_000)]
    assert planned_buckets(profile, 2, 125e6, 1e-5, cpu_seconds_per_byte=0.0) == slow
    assert forecast_step(profile, 2, 125e6, 1e-5, replan=True)["buckets"] == 1


def test_gradient_ready_times_come_from_a_ddp_timeline(tmp_path):
    import numpy
    import distgrad
    import distgrad.distributed as dist
    from distgrad import nn
    from distgrad.distributed.communicators import SingleCommunicator
    timeline = dist.Timeline(str(tmp_path / "t.json"))
    distgrad.manual_seed(0)
    ddp = dist.DDP(nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2)),
                   process_group=SingleCommunicator(), timeline=timeline)
    x = distgrad.tensor(numpy.ones((4, 8), numpy.float32))
    for _ in range(6):
        ddp(x).sum().backward()
    timeline.save(comm=SingleCommunicator())
    profile = profile_from_trace(str(tmp_path / "t.json"), skip_steps=1)
    assert [g[1] for g in profile.gradients] == [512, 64, 128, 8]
    assert all(g[2] == "<f4" and g[0] >= 0 for g in profile.gradients)
    # Backward reaches the last layer first.
    assert profile.gradients[3][0] <= profile.gradients[0][0]
