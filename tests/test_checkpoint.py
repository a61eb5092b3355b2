"""Checkpoint files: round trips without pickle, atomic writes, keep-last-K, refusals."""
import json
import os

import numpy
import pytest

from distgrad.cli import checkpoint


def state(step):
    return {"model": {"0.weight": numpy.full((2, 3), step, dtype=numpy.float32)},
            "optimizer": {"state": {0: {"step": step, "exp_avg": numpy.ones(3)}},
                          "param_groups": [{"lr": 0.1, "params": [0]}]},
            "rng": [{"seed": 1, "cpu": {"state": {"state": 2 ** 100, "inc": 7}}}],
            "flag": None, "epoch": numpy.int64(2)}


def test_round_trip_preserves_arrays_ints_keys_and_big_ints(tmp_path):
    checkpoint.save(tmp_path, 5, state(5), {"model": "cnn"})
    step, loaded, meta = checkpoint.latest(tmp_path)
    assert step == 5 and meta == {"model": "cnn"}
    numpy.testing.assert_array_equal(loaded["model"]["0.weight"], numpy.full((2, 3), 5))
    assert loaded["optimizer"]["state"][0]["step"] == 5  # int keys survive JSON
    assert loaded["rng"][0]["cpu"]["state"]["state"] == 2 ** 100
    assert loaded["flag"] is None and loaded["epoch"] == 2


def test_keeps_only_the_newest_k(tmp_path):
    for step in range(1, 6):
        checkpoint.save(tmp_path, step, state(step), {}, keep=2)
    names = sorted(os.listdir(tmp_path))
    assert names == ["checkpoint-000000004.json", "checkpoint-000000004.npz",
                     "checkpoint-000000005.json", "checkpoint-000000005.npz"]


def test_interrupted_write_leaves_previous_checkpoint_loadable(tmp_path, monkeypatch):
    checkpoint.save(tmp_path, 1, state(1), {})

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed mid-write")
    monkeypatch.setattr(numpy, "savez", lambda f, **arrays: (f.write(b"partial"), crash()))
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save(tmp_path, 2, state(2), {})
    assert [n for n in os.listdir(tmp_path) if n.endswith(".tmp")] == []
    step, loaded, _ = checkpoint.latest(tmp_path)
    assert step == 1


def test_npz_without_manifest_is_incomplete_and_ignored(tmp_path):
    checkpoint.save(tmp_path, 1, state(1), {})
    (tmp_path / "checkpoint-000000002.npz").write_bytes(b"half written")
    assert checkpoint.latest(tmp_path)[0] == 1


def test_corrupt_checkpoint_is_refused_with_reason(tmp_path):
    path = checkpoint.save(tmp_path, 3, state(3), {})
    npz = path[:-5] + ".npz"
    with open(npz, "r+b") as f:
        f.seek(40)
        f.write(b"\xff\xff\xff")
    with pytest.raises(checkpoint.CheckpointError, match="corrupt: sha256"):
        checkpoint.latest(tmp_path)
    with open(path, "w") as f:
        f.write("{not json")
    with pytest.raises(checkpoint.CheckpointError, match="unreadable"):
        checkpoint.latest(tmp_path)


def test_incompatible_configuration_names_every_difference():
    with pytest.raises(checkpoint.CheckpointError, match="model: checkpoint has 'mlp', this run has 'cnn'.*world_size"):
        checkpoint.check_compatible({"model": "mlp", "world_size": 2}, {"model": "cnn", "world_size": 4})
    checkpoint.check_compatible({"model": "cnn"}, {"model": "cnn"})


def test_objects_that_are_not_data_are_refused(tmp_path):
    with pytest.raises(TypeError, match="state at state.x holds a object"):
        checkpoint.save(tmp_path, 1, {"x": object()}, {})
    manifest = json.loads(open(checkpoint.save(tmp_path, 1, state(1), {})).read())
    assert manifest["format"] == checkpoint.FORMAT
