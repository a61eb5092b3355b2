"""The lines at the top of PyTorch scripts: dtypes, devices, grad modes, seeds, threads, print
options and the cuda/accelerator/backends guards, compared with torch where it is installed."""
import re
import threading

import numpy
import pytest

import distgrad
from distgrad import nn

try:
    import torch
except ImportError:  # torch is an optional oracle
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is the reference")


# --- dtypes -------------------------------------------------------------------------------------
ALIASES = ["float", "double", "half", "long", "int", "bool", "short", "float16", "float32",
           "float64", "int8", "int16", "int32", "int64", "uint8", "complex64", "complex128",
           "cfloat", "cdouble"]


@needs_torch
@pytest.mark.parametrize("name", ALIASES)
def test_dtype_aliases_name_torchs_dtypes(name):
    mine, ref = getattr(distgrad, name), getattr(torch, name)
    assert isinstance(mine, distgrad.dtype)
    assert str(mine) == str(ref).replace("torch.", "")
    assert mine.itemsize == ref.itemsize
    assert distgrad.zeros(1, dtype=mine).dtype is mine


def test_tensor_dtype_is_and_equals_the_alias():
    x = distgrad.tensor([1.0, 2.0])
    assert x.dtype == distgrad.float and x.dtype is distgrad.float32
    assert x.dtype != distgrad.float64 and x.dtype in (distgrad.float32, distgrad.float16)
    assert distgrad.tensor([1]).dtype is distgrad.long and distgrad.bool is distgrad.bool_
    assert {distgrad.float32: "f"}[x.dtype] == "f"
    assert str(distgrad.float32) == "float32"
    assert x.to(distgrad.double).dtype is distgrad.float64


@needs_torch
@pytest.mark.parametrize("name", ["float16", "float32", "float64"])
def test_finfo_as_torch(name):
    mine, ref = distgrad.finfo(getattr(distgrad, name)), torch.finfo(getattr(torch, name))
    for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
        assert getattr(mine, field) == getattr(ref, field), field
        assert type(getattr(mine, field)) is type(getattr(ref, field)), field
    assert mine.dtype == ref.dtype
    assert distgrad.finfo().dtype == "float32"


@needs_torch
@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64"])
def test_iinfo_as_torch(name):
    mine, ref = distgrad.iinfo(getattr(distgrad, name)), torch.iinfo(getattr(torch, name))
    assert (mine.bits, mine.min, mine.max, mine.dtype) == (ref.bits, ref.min, ref.max, ref.dtype)


def test_finfo_and_iinfo_refuse_the_other_kind():
    with pytest.raises(TypeError, match="floating point dtype, got int64: use distgrad.iinfo"):
        distgrad.finfo(distgrad.int64)
    with pytest.raises(TypeError, match="integer dtype, got bool"):
        distgrad.iinfo(distgrad.bool)


@needs_torch
def test_promote_types_as_torch():
    names = ["bool", "uint8", "int8", "int32", "int64", "float16", "float32", "float64",
             "complex64"]
    for a in names:
        for b in names:
            ref = torch.promote_types(getattr(torch, a), getattr(torch, b))
            assert str(distgrad.promote_types(getattr(distgrad, a), getattr(distgrad, b))) == \
                str(ref).replace("torch.", ""), (a, b)


# --- devices ------------------------------------------------------------------------------------
def test_device_objects():
    d = distgrad.device("cuda", 1)
    assert (d.type, d.index, str(d)) == ("cuda", 1, "cuda:1")
    assert distgrad.device("cuda:0").index == 0 and distgrad.device("cpu").index is None
    assert distgrad.device("cpu") == "cpu" and repr(distgrad.device("cpu")) == "device(type='cpu')"
    assert distgrad.tensor([1.0]).device == distgrad.device("cpu")
    assert distgrad.tensor([1.0]).device.type == "cpu"
    with pytest.raises(RuntimeError, match="unknown device type 'gpu'"):
        distgrad.device("gpu")


def test_the_device_choice_line_runs_on_a_cpu_machine():
    device = distgrad.device("cuda" if distgrad.cuda.is_available() else "cpu")
    model = nn.Linear(2, 2).to(device)
    assert model.weight.device == device
    x = distgrad.zeros(2, device=device)
    assert x.to(device).device == device and x.cpu().device == "cpu"


def test_to_returns_self_when_nothing_changes():
    x = distgrad.ones(2, requires_grad=True)
    assert x.to("cpu") is x and x.to(distgrad.float32) is x
    assert x.to(distgrad.device("cpu"), distgrad.float32, non_blocking=True) is x
    copy = x.to("cpu", copy=True)
    assert copy is not x and copy.array is not x.array and copy.grad_fn is not None
    y = x.to(distgrad.float64)
    assert y.dtype is distgrad.float64 and y.grad_fn is not None
    other = distgrad.zeros(1, dtype=distgrad.float16)
    assert x.to(other).dtype is distgrad.float16


@needs_torch
def test_to_as_torch():
    x, t = distgrad.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    cases = [(("cpu",), {}), ((), {"dtype": "float64"}), (("cpu", "float16"), {}),
             (("cpu",), {"copy": True})]
    for args, kwargs in cases:
        mine = x.to(*[getattr(distgrad, a) if a.startswith("float") else a for a in args],
                    **{k: getattr(distgrad, v) if k == "dtype" else v for k, v in kwargs.items()})
        ref = t.to(*[getattr(torch, a) if a.startswith("float") else a for a in args],
                   **{k: getattr(torch, v) if k == "dtype" else v for k, v in kwargs.items()})
        assert (mine is x) == (ref is t), (args, kwargs)
        assert str(mine.dtype) == str(ref.dtype).replace("torch.", "")
        assert mine.requires_grad == ref.requires_grad and mine.is_leaf == ref.is_leaf


# --- grad modes ---------------------------------------------------------------------------------
def test_no_grad_as_context_decorator_and_bare_decorator():
    x = distgrad.tensor([1.0], requires_grad=True)
    with distgrad.no_grad():
        assert not (x * 2).requires_grad and not distgrad.is_grad_enabled()
    assert distgrad.is_grad_enabled()

    @distgrad.no_grad()
    def called(v):
        """Doubles."""
        return v * 2

    @distgrad.no_grad
    def bare(v):
        return v * 2

    assert not called(x).requires_grad and not bare(x).requires_grad
    assert called.__name__ == "called" and called.__doc__ == "Doubles."
    assert (x * 2).requires_grad


def test_enable_grad_inside_no_grad_also_as_decorator():
    x = distgrad.tensor([1.0], requires_grad=True)

    @distgrad.enable_grad()
    def recorded(v):
        return v * 2

    with distgrad.no_grad():
        with distgrad.enable_grad():
            assert (x * 2).requires_grad
        assert recorded(x).requires_grad
        assert not (x * 2).requires_grad


def test_set_grad_enabled_as_call_context_and_decorator():
    try:
        distgrad.set_grad_enabled(False)
        assert not distgrad.is_grad_enabled()
        distgrad.set_grad_enabled(True)
        assert distgrad.is_grad_enabled()
        with distgrad.set_grad_enabled(False):
            assert not distgrad.is_grad_enabled()
        assert distgrad.is_grad_enabled()

        @distgrad.set_grad_enabled(False)
        def inside():
            return distgrad.is_grad_enabled()

        assert distgrad.is_grad_enabled() and inside() is False and distgrad.is_grad_enabled()
    finally:
        distgrad.set_grad_enabled(True)


def test_inference_mode_context_decorator_and_off_switch():
    x = distgrad.tensor([1.0], requires_grad=True)
    with distgrad.inference_mode():
        assert not (x * 2).requires_grad
    with distgrad.inference_mode(False):
        assert (x * 2).requires_grad

    @distgrad.inference_mode()
    def called():
        return (x * 2).requires_grad

    @distgrad.inference_mode
    def bare():
        return (x * 2).requires_grad

    assert called() is False and bare() is False and distgrad.is_grad_enabled()


def test_no_grad_on_a_generator_holds_only_while_it_runs():
    @distgrad.no_grad()
    def steps():
        yield distgrad.is_grad_enabled()
        yield distgrad.is_grad_enabled()
        return "done"

    it = steps()
    assert next(it) is False and distgrad.is_grad_enabled()
    assert next(it) is False and distgrad.is_grad_enabled()
    with pytest.raises(StopIteration) as stop:
        next(it)
    assert stop.value.value == "done"


def test_grad_mode_is_per_thread():
    seen = []
    with distgrad.no_grad():
        worker = threading.Thread(target=lambda: seen.append(distgrad.is_grad_enabled()))
        worker.start()
        worker.join()
    assert seen == [True]


@needs_torch
def test_grad_modes_as_torch():
    def probe(lib):
        x = lib.tensor([1.0], requires_grad=True)
        with lib.no_grad():
            with lib.set_grad_enabled(True):
                inner = (x * 2).requires_grad
            with lib.inference_mode():
                inference = (x * 2).requires_grad
            after = lib.is_grad_enabled()
        return inner, inference, after, lib.is_grad_enabled()

    assert probe(distgrad) == probe(torch)


# --- seeds, threads, printing -------------------------------------------------------------------
def test_manual_seed_repeats_draws_and_reports_the_seed():
    generator = distgrad.manual_seed(1234)
    assert isinstance(generator, numpy.random.Generator)
    a = distgrad.randn(5)
    distgrad.manual_seed(1234)
    assert numpy.array_equal(a.numpy(), distgrad.randn(5).numpy())
    assert distgrad.initial_seed() == 1234
    distgrad.manual_seed(-1)
    assert distgrad.initial_seed() == 2 ** 64 - 1
    fresh = distgrad.seed()
    assert distgrad.initial_seed() == fresh and 0 <= fresh < 2 ** 64
    with pytest.raises(RuntimeError, match="seed must be in"):
        distgrad.manual_seed(2 ** 64)
    distgrad.manual_seed(0)


def test_cuda_seeding_is_harmless_without_a_gpu():
    distgrad.manual_seed(5)
    a = distgrad.rand(3)
    distgrad.manual_seed(5)
    distgrad.cuda.manual_seed(7)
    distgrad.cuda.manual_seed_all(7)
    assert numpy.array_equal(a.numpy(), distgrad.rand(3).numpy())


@needs_torch
def test_random_draws_have_torchs_dtypes_shapes_and_ranges():
    distgrad.manual_seed(0)
    for name, args in [("rand", (3, 4)), ("randn", ((2, 3),)), ("randint", (0, 10, (1000,))),
                       ("randint", (5, (2, 3))), ("randperm", (10,))]:
        mine, ref = getattr(distgrad, name)(*args), getattr(torch, name)(*args)
        assert str(mine.dtype) == str(ref.dtype).replace("torch.", "") and mine.shape == ref.shape
    r = distgrad.randint(3, 7, size=(2000,))
    assert r.array.min() == 3 and r.array.max() == 6
    assert sorted(distgrad.randperm(10).tolist()) == list(range(10))
    u = distgrad.rand(10000, dtype=distgrad.float64)
    assert u.dtype is distgrad.float64 and 0 <= u.array.min() and u.array.max() < 1
    assert distgrad.rand(3, dtype=distgrad.float16).dtype is distgrad.float16
    like = distgrad.randn_like(distgrad.zeros(2, 3, dtype=distgrad.float64))
    assert like.shape == (2, 3) and like.dtype is distgrad.float64
    assert distgrad.rand_like(distgrad.zeros(4), requires_grad=True).requires_grad


def test_random_errors_in_words():
    with pytest.raises(TypeError, match="randint\\(\\) for integers"):
        distgrad.rand(2, dtype=distgrad.int64)
    with pytest.raises(RuntimeError, match="low must be less than high, got low=5, high=3"):
        distgrad.randint(5, 3, (2,))
    with pytest.raises(TypeError, match="needs high and size"):
        distgrad.randint(5)
    gen = numpy.random.default_rng(0)
    assert distgrad.randn(3, generator=gen).shape == (3,)
    with pytest.raises(TypeError, match="expected a distgrad.Generator"):
        distgrad.rand(2, generator=42)
    a = distgrad.randn(4, generator=distgrad.Generator().manual_seed(3))
    b = distgrad.randn(4, generator=distgrad.Generator().manual_seed(3))
    assert numpy.array_equal(a.numpy(), b.numpy())
    assert distgrad.randperm(5, generator=distgrad.Generator()).shape == (5,)


def test_num_threads_round_trip(monkeypatch):
    before = distgrad.get_num_threads()
    assert isinstance(before, int) and before >= 1
    if distgrad.threads.threadpoolctl is None:
        monkeypatch.setattr(distgrad.threads, "_warned", False)
        with pytest.warns(RuntimeWarning, match="pip install threadpoolctl"):
            distgrad.set_num_threads(1)
    else:
        distgrad.set_num_threads(1)
    assert distgrad.get_num_threads() == 1
    distgrad.set_num_threads(before)
    assert distgrad.get_num_threads() == before
    with pytest.raises(RuntimeError, match="positive int"):
        distgrad.set_num_threads(0)


def test_set_num_threads_reaches_the_blas_library():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    blas = [lib for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "blas"]
    if not blas:
        pytest.skip("NumPy loaded no BLAS library that threadpoolctl knows")
    before = distgrad.get_num_threads()
    try:
        distgrad.set_num_threads(1)
        assert [lib["num_threads"] for lib in threadpoolctl.threadpool_info()
                if lib["user_api"] == "blas"] == [1] * len(blas)
    finally:
        distgrad.set_num_threads(before)


@needs_torch
def test_set_printoptions_as_torch():
    try:
        for kwargs in ({"precision": 2}, {"sci_mode": True}, {"profile": "default"},
                       {"threshold": 5, "edgeitems": 1}):
            distgrad.set_printoptions(**kwargs)
            torch.set_printoptions(**kwargs)
            values = [1.23456, 2.0, 3.5, 4.25, 5.125, 6.0]
            mine, ref = repr(distgrad.tensor(values)), repr(torch.tensor(values))
            assert _numbers(mine) == _numbers(ref), (kwargs, mine, ref)
        with pytest.raises(ValueError, match="profile='long'"):
            distgrad.set_printoptions(profile="long")
    finally:
        distgrad.set_printoptions(profile="default")
        torch.set_printoptions(profile="default")
        numpy.set_printoptions(precision=8, suppress=False, formatter=None)


def _numbers(text):
    return [float(word.strip("[](),")) for word in text.replace("tensor(", " ").split()
            if word.strip("[](),") not in ("", "...")]


# --- cuda, accelerator, backends ----------------------------------------------------------------
def test_cuda_guards_on_this_machine():
    assert isinstance(distgrad.cuda.is_available(), bool)
    assert distgrad.cuda.device_count() >= 0
    distgrad.cuda.synchronize()
    distgrad.cuda.empty_cache()
    if not distgrad.cuda.is_available():
        with pytest.raises(RuntimeError, match="check distgrad.cuda.is_available\\(\\) first"):
            distgrad.cuda.get_device_name(0)


@needs_torch
def test_guard_lines_answer_as_torch_on_a_cpu_machine():
    if distgrad.cuda.is_available() or torch.cuda.is_available():
        pytest.skip("compares CPU-only answers")
    assert distgrad.cuda.is_available() == torch.cuda.is_available()
    assert distgrad.cuda.device_count() == torch.cuda.device_count()
    assert distgrad.accelerator.is_available() == torch.accelerator.is_available()
    assert distgrad.accelerator.current_accelerator() is None
    assert torch.accelerator.current_accelerator() is None
    assert distgrad.backends.mps.is_available() is torch.backends.mps.is_available() is False
    assert distgrad.backends.mps.is_built() is False
    assert distgrad.backends.cudnn.is_available() is False
    assert distgrad.backends.cudnn.version() is None


def test_accelerator_answers_for_cuda():
    assert distgrad.accelerator.device_count() == distgrad.cuda.device_count()
    device = distgrad.accelerator.current_accelerator() if distgrad.accelerator.is_available() \
        else distgrad.device("cpu")
    assert device.type in ("cpu", "cuda")
    distgrad.accelerator.synchronize()


def test_backend_flags_are_assignable_and_kept():
    cudnn = distgrad.backends.cudnn
    saved = cudnn.benchmark, cudnn.deterministic, cudnn.enabled
    try:
        cudnn.benchmark, cudnn.deterministic, cudnn.enabled = True, True, False
        assert (cudnn.benchmark, cudnn.deterministic, cudnn.enabled) == (True, True, False)
        distgrad.backends.cuda.matmul.allow_tf32 = True
        assert distgrad.backends.cuda.matmul.allow_tf32 is True
    finally:
        cudnn.benchmark, cudnn.deterministic, cudnn.enabled = saved
        distgrad.backends.cuda.matmul.allow_tf32 = False
    assert distgrad.backends.cuda.is_built() == (distgrad.backend.cupy is not None)


# --- names PyTorch has and distgrad does not ----------------------------------------------------
@pytest.mark.parametrize("name, advice", [
    ("utils", "torch.utils.data is distgrad.data"),
    ("compile", "runs eagerly"),
    ("FloatTensor", "distgrad.tensor(data, dtype=...)"),
    ("set_default_tensor_type", "distgrad.set_default_dtype"),
])
def test_missing_pytorch_names_give_advice(name, advice):
    with pytest.raises(AttributeError, match=f"module 'distgrad' has no attribute '{name}': .*"
                                             + re.escape(advice)):
        getattr(distgrad, name)


def test_unknown_names_raise_plain_attribute_errors():
    with pytest.raises(AttributeError, match="^module 'distgrad' has no attribute 'tensr'$") as info:
        distgrad.tensr  # noqa: B018
    assert info.value.name == "tensr" and info.value.obj is distgrad  # Python's "did you mean"
    assert not hasattr(distgrad, "no_such_thing")
    assert hasattr(distgrad, "backends") and hasattr(distgrad, "backend")
