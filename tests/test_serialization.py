"""distgrad.save / distgrad.load: round trips that restore training exactly, a file that
safetensors reads, clear errors for corrupt files, and pickle only with weights_only=False."""
import collections
import io
import json
import os
import pickle
import struct

import numpy
import pytest

import distgrad
from distgrad import nn, optim
from distgrad.optim import lr_scheduler


def _training(seed=0):
    distgrad.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    opt = optim.Adam(model.parameters(), lr=0.01)
    sched = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    return model, opt, sched


def _steps(model, opt, sched, n, seed):
    rng = numpy.random.default_rng(seed)
    for _ in range(n):
        x = distgrad.tensor(rng.standard_normal((16, 4)).astype(numpy.float32))
        y = distgrad.tensor(rng.integers(0, 3, 16))
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        sched.step()


def _weights(model):
    return [numpy.array(p, copy=True) for p in model.parameters()]


@pytest.mark.parametrize("to_file_object", [False, True])
def test_checkpoint_restores_training_exactly(tmp_path, to_file_object):
    model, opt, sched = _training()
    _steps(model, opt, sched, 3, seed=1)  # the optimiser has state, the scheduler has stepped
    checkpoint = {"model": model.state_dict(), "optimizer": opt.state_dict(),
                  "scheduler": sched.state_dict(), "epoch": 3}
    target = io.BytesIO() if to_file_object else tmp_path / "checkpoint.pt"
    distgrad.save(checkpoint, target)
    _steps(model, opt, sched, 4, seed=2)
    expected = _weights(model)

    if to_file_object:
        target.seek(0)
    state = distgrad.load(target)
    model2, opt2, sched2 = _training(seed=99)  # different initial weights
    model2.load_state_dict(state["model"])
    opt2.load_state_dict(state["optimizer"])
    sched2.load_state_dict(state["scheduler"])
    assert state["epoch"] == 3 and type(state["epoch"]) is int
    _steps(model2, opt2, sched2, 4, seed=2)
    for ours, theirs in zip(_weights(model2), expected):
        assert numpy.array_equal(ours, theirs)
    assert sched2.get_last_lr() == sched.get_last_lr()


def test_structure_and_types_come_back():
    t = distgrad.tensor([[1.5, -2.0]])
    obj = collections.OrderedDict([
        ("weight", t), ("same", t), ("grad", distgrad.tensor([1.0], requires_grad=True)),
        ("param", nn.Parameter(distgrad.zeros(2))),
        ("array", numpy.arange(6, dtype=numpy.int16).reshape(2, 3)),
        ("scalar", numpy.float64(0.25)), ("zero_d", numpy.array(7, dtype=numpy.uint8)),
        ("bools", numpy.array([True, False])), ("empty", numpy.zeros((0, 3), numpy.float16)),
        ("numbers", [1, 2.5, True, None, "text", float("inf"), float("-inf")]),
        ("betas", (0.9, 0.999)), ("nested", {0: {"step": 4}, "k": [(1, "a")]}),
        ("milestones", collections.Counter([30, 80, 80])),
    ])
    buffer = io.BytesIO()
    distgrad.save(obj, buffer)
    out = distgrad.load(io.BytesIO(buffer.getvalue()))
    assert type(out) is collections.OrderedDict and list(out) == list(obj)
    assert isinstance(out["weight"], distgrad.Tensor) and out["weight"].dtype == numpy.float32
    assert out["weight"].tolist() == [[1.5, -2.0]] and out["same"] is out["weight"]
    assert out["grad"].requires_grad and not out["weight"].requires_grad
    assert isinstance(out["param"], nn.Parameter) and out["param"].requires_grad
    for key in ("array", "zero_d", "bools", "empty"):
        assert type(out[key]) is numpy.ndarray and out[key].dtype == obj[key].dtype
        assert out[key].shape == obj[key].shape and numpy.array_equal(out[key], obj[key])
    assert type(out["scalar"]) is numpy.float64 and out["scalar"] == 0.25
    assert out["numbers"] == obj["numbers"] and [type(v) for v in out["numbers"]] == \
        [type(v) for v in obj["numbers"]]
    assert out["betas"] == (0.9, 0.999) and out["nested"] == {0: {"step": 4}, "k": [(1, "a")]}
    assert type(out["milestones"]) is collections.Counter and out["milestones"][80] == 2
    out["array"][0, 0] = 100  # loaded arrays are writable, as torch.load's tensors are
    nan = distgrad.load(_saved(float("nan")))
    assert nan != nan


def _saved(obj):
    buffer = io.BytesIO()
    distgrad.save(obj, buffer)
    buffer.seek(0)
    return buffer


def test_a_path_is_written_atomically_and_can_be_mapped(tmp_path, monkeypatch):
    path = tmp_path / "model.pt"
    distgrad.save({"w": numpy.ones(3)}, str(path))
    before = path.read_bytes()

    def broken(obj, protocol):
        raise RuntimeError("cannot pickle this")

    with pytest.raises(RuntimeError, match="cannot pickle this"):
        distgrad.save({"w": numpy.zeros(3), "odd": object()}, path,
                      pickle_module=type("M", (), {"dumps": staticmethod(broken)}))
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["model.pt"]
    mapped = distgrad.load(path, mmap=True)["w"]
    assert mapped.tolist() == [1.0, 1.0, 1.0]
    mapped[0] = 5  # copy-on-write: the file stays as it was
    assert path.read_bytes() == before
    with pytest.raises(RuntimeError, match="parent directory .*missing does not exist"):
        distgrad.save({}, tmp_path / "missing" / "x.pt")


def test_pickled_objects_need_weights_only_false(tmp_path):
    path = tmp_path / "extras.pt"
    distgrad.save({"w": distgrad.ones(2), "classes": {"cat", "dog"}, "c": 1 + 2j}, path)
    refused = r"extras.pt'\): weights_only=True refuses to unpickle the builtins.set .*=False"
    with pytest.raises(pickle.UnpicklingError, match=refused):
        distgrad.load(path)
    with pytest.raises(pickle.UnpicklingError):
        distgrad.load(path, weights_only=None)
    out = distgrad.load(path, weights_only=False)
    assert out["classes"] == {"cat", "dog"} and out["c"] == 1 + 2j and out["w"].tolist() == [1, 1]


def test_file_is_readable_by_safetensors(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    model, opt, sched = _training()
    _steps(model, opt, sched, 1, seed=0)
    path = tmp_path / "ckpt.pt"
    distgrad.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, path)
    tensors = safetensors_numpy.load_file(str(path))
    for name, value in model.state_dict().items():
        assert numpy.array_equal(tensors[f"model.{name}"], numpy.asarray(value))
    assert numpy.array_equal(tensors["optimizer.state.0.exp_avg"],
                             numpy.asarray(opt.state_dict()["state"][0]["exp_avg"]))
    # ... and distgrad reads what safetensors writes: a dict of Tensors.
    safetensors_numpy.save_file({"a": numpy.arange(4.0), "b": numpy.ones(2, numpy.int32)},
                                str(tmp_path / "other.safetensors"))
    other = distgrad.load(tmp_path / "other.safetensors")
    assert isinstance(other["a"], distgrad.Tensor) and other["a"].tolist() == [0, 1, 2, 3]
    assert other["b"].dtype == numpy.int32


def test_file_layout_is_safetensors():
    raw = _saved({"x": numpy.arange(3, dtype=numpy.float32), "n": numpy.ones(1, numpy.int8)}).read()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])
    assert length % 8 == 0 and header["x"] == {"dtype": "F32", "shape": [3],
                                               "data_offsets": [0, 12]}
    assert header["n"] == {"dtype": "I8", "shape": [1], "data_offsets": [12, 13]}
    assert set(header["__metadata__"]) == {"format", "distgrad"}
    assert numpy.frombuffer(raw[8 + length:8 + length + 12], "<f4").tolist() == [0, 1, 2]
    assert len(raw) == 8 + length + 13


def _corrupt_cases(good):
    (length,) = struct.unpack("<Q", good[:8])
    header = json.loads(good[8:8 + length])
    header["w"]["data_offsets"] = [0, 999]
    bad_entry = json.dumps(header).encode()
    return {
        "empty": (b"", "holds 0 bytes, too few"),
        "truncated payload": (good[:-5], r"describes 24 bytes of tensor data but 19 follow"),
        "truncated header": (good[:20], "announce a .*-byte header, more than the file holds"),
        "garbage": (b"\x07" * 64, "announce a .*-byte header"),
        "not json": (struct.pack("<Q", 4) + b"{{{{", "header is not a JSON object"),
        "bad entry": (struct.pack("<Q", len(bad_entry)) + bad_entry + good[8 + length:],
                      "entry for 'w' is malformed"),
        "torch file": (b"PK\x03\x04\x14\x00\x08\x08" + b"\x00" * 60, "written by torch.save"),
        "legacy torch file": (b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8", "written by torch.save"),
    }


@pytest.mark.parametrize("case", ["empty", "truncated payload", "truncated header", "garbage",
                                  "not json", "bad entry", "torch file", "legacy torch file"])
def test_corrupt_files_raise_an_error_naming_the_file(tmp_path, case):
    good = _saved({"w": numpy.arange(3.0)}).read()
    content, message = _corrupt_cases(good)[case]
    path = tmp_path / "broken.pt"
    path.write_bytes(content)
    with pytest.raises(RuntimeError, match=message) as info:
        distgrad.load(path)
    assert str(path) in str(info.value)


def test_headers_of_any_length_load():
    """A header length whose bytes look like a pickle's or a zip's start is still a header."""
    for n in range(300):
        buffer = _saved({"k" * n: numpy.arange(2)})
        assert list(distgrad.load(buffer)) == ["k" * n]


def test_truncated_stream_is_reported_too():
    good = _saved({"w": numpy.arange(3.0)}).read()
    with pytest.raises(RuntimeError, match="only 19 follow: the file was cut short"):
        distgrad.load(io.BytesIO(good[:-5]))


def test_map_location():
    buffer = _saved({"t": distgrad.tensor([1.0, 2.0]), "a": numpy.ones(2)})
    for location in (None, "cpu", {"cuda:0": "cpu"}, lambda storage, loc: storage):
        buffer.seek(0)
        out = distgrad.load(buffer, map_location=location)
        assert out["t"].device == "cpu" and out["t"].tolist() == [1.0, 2.0]
        assert type(out["a"]) is numpy.ndarray
    buffer.seek(0)
    doubled = distgrad.load(buffer, map_location=lambda storage, loc: storage * 2)
    assert doubled["t"].tolist() == [2.0, 4.0]
    if not distgrad.cuda.is_available():
        buffer.seek(0)
        with pytest.raises(RuntimeError, match="CUDA is not available here.*map_location='cpu'"):
            distgrad.load(buffer, map_location="cuda:0")


def test_torch_reads_the_same_numbers_through_safetensors_layout():
    """A state dict saved by distgrad loads into a torch model when read with safetensors."""
    torch = pytest.importorskip("torch")
    st = pytest.importorskip("safetensors.torch")
    model, _, _ = _training()
    buffer = _saved(model.state_dict())
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    theirs.load_state_dict(st.load(buffer.getvalue()))
    x = numpy.random.default_rng(0).standard_normal((2, 4)).astype(numpy.float32)
    numpy.testing.assert_allclose(theirs(torch.from_numpy(x)).detach().numpy(),
                                  model(distgrad.tensor(x)).numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.skipif(not distgrad.cuda.is_available(), reason="needs a GPU")
def test_cuda_tensors_and_arrays_are_saved_via_the_host():
    t = distgrad.tensor([1.0, 2.0]).to("cuda:0")
    buffer = _saved({"t": t, "a": t.array})
    out = distgrad.load(buffer)
    assert out["t"].device == "cuda:0" and distgrad.backend.device_of(out["a"]) == "cuda:0"
    assert out["t"].tolist() == [1.0, 2.0]
    for location in ("cpu", {"cuda:0": "cpu"}, lambda storage, loc: storage):
        buffer.seek(0)
        out = distgrad.load(buffer, map_location=location)
        assert out["t"].device == "cpu" and out["t"].tolist() == [1.0, 2.0]
    buffer.seek(0)
    assert type(distgrad.load(buffer, map_location="cpu")["a"]) is numpy.ndarray
    on_gpu = distgrad.load(_saved({"t": distgrad.ones(2)}), map_location="cuda")
    assert on_gpu["t"].device == "cuda:0"
