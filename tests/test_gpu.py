"""One code path for CPU and GPU: every op, a module, the optimisers and the data loader run on
the ``device`` fixture (``cpu``, and ``cuda`` where CuPy sees a GPU — skipped, not failed,
elsewhere) and must give the NumPy results. Plus the GPU plumbing that runs without a GPU:
backend selection, CUDA-aware MPI detection, and the fused kernels' CPU formulas."""
import numpy
import pytest

import distgrad
import distgrad.distributed as dist
from distgrad import backend, fused, models, nn, ops, optim
from distgrad.data import ArrayDataset, DataLoader
from distgrad.distributed import process_group
from distgrad.distributed.communicators import cuda_aware_mpi
import op_check
from op_check import rand


@pytest.fixture(params=["cpu", "cuda"])
def device(request):
    """A device name; the ``cuda`` case is skipped without a usable GPU."""
    if request.param == "cuda" and not distgrad.cuda.is_available():
        pytest.skip("no GPU: CuPy is missing or sees no device")
    return backend.set_device(request.param)


def run_op(fn, arrays, device, grad_seed=0):
    """Forward and input gradients (host arrays) of ``fn`` on ``device``."""
    inputs = [distgrad.tensor(a, requires_grad=a.dtype.kind == "f", device=device)
              for a in arrays]
    out = fn(*inputs)
    assert out.device == device
    gy = numpy.random.default_rng(grad_seed).standard_normal(out.shape).astype(out.dtype)
    out.backward(distgrad.tensor(gy, device=device))
    grads = [backend.to_numpy(t.grad.array) if t.requires_grad else None for t in inputs]
    for t in inputs:
        if t.requires_grad:
            assert backend.device_of(t.grad.array) == device
    return out.detach().numpy(), grads


def f32(*shape, seed=0):
    return rand(*shape, seed=seed).astype(numpy.float32)


def distinct(*shape, seed=0):
    return op_check.distinct(*shape, seed=seed).astype(numpy.float32)


OPS = {
    "add": (lambda a, b: a + b, lambda: (f32(3, 4), f32(4, seed=1))),
    "sub": (lambda a, b: a - b, lambda: (f32(3, 4), f32(3, 1, seed=1))),
    "mul": (lambda a, b: a * b, lambda: (f32(2, 3), f32(2, 3, seed=1))),
    "div": (lambda a, b: a / b, lambda: (f32(2, 3), f32(2, 3, seed=1) + 2)),
    "pow": (lambda a: a ** 3, lambda: (f32(5),)),
    "neg": (lambda a: -a, lambda: (f32(5),)),
    "exp": (ops.exp, lambda: (f32(6),)),
    "log": (ops.log, lambda: (f32(6) + 2,)),
    "sqrt": (ops.sqrt, lambda: (f32(6) + 2,)),
    "abs": (ops.abs, lambda: (f32(6),)),
    "clip": (lambda a: ops.clip(a, -0.5, 0.5), lambda: (f32(8),)),
    "relu": (ops.relu, lambda: (f32(4, 5),)),
    "sigmoid": (ops.sigmoid, lambda: (f32(4, 5),)),
    "tanh": (ops.tanh, lambda: (f32(4, 5),)),
    "sum": (lambda a: ops.sum(a, axis=1), lambda: (f32(3, 4),)),
    "mean": (lambda a: ops.mean(a, axis=(0, 2), keepdims=True), lambda: (f32(2, 3, 4),)),
    "max": (lambda a: ops.max(a, axis=1), lambda: (distinct(3, 4),)),
    "matmul": (ops.matmul, lambda: (f32(2, 3, 4), f32(4, 5, seed=1))),
    "linear": (ops.linear, lambda: (f32(6, 4), f32(3, 4, seed=1), f32(3, seed=2))),
    "reshape": (lambda a: ops.reshape(a, (4, 3)), lambda: (f32(3, 4),)),
    "transpose": (lambda a: ops.transpose(a, (1, 0, 2)), lambda: (f32(2, 3, 4),)),
    "getitem": (lambda a: a[1:, ::2], lambda: (f32(3, 4),)),
    "getitem_advanced": (lambda a: a[numpy.array([0, 2, 0])], lambda: (f32(3, 4),)),
    "conv2d": (lambda x, w, b: ops.conv2d(x, w, b, stride=2, padding=1),
               lambda: (f32(2, 3, 7, 6), f32(4, 3, 3, 2, seed=1), f32(4, seed=2))),
    "max_pool2d": (lambda x: ops.max_pool2d(x, 2), lambda: (distinct(2, 3, 6, 6),)),
    "max_pool2d_overlap": (lambda x: ops.max_pool2d(x, 3, stride=2, padding=1),
                           lambda: (distinct(1, 2, 7, 7),)),
    "avg_pool2d": (lambda x: ops.avg_pool2d(x, 2), lambda: (f32(2, 3, 6, 6),)),
    "adaptive_avg_pool2d": (lambda x: ops.adaptive_avg_pool2d(x, 1), lambda: (f32(2, 3, 4, 4),)),
    "softmax": (lambda x: ops.softmax(x, 1), lambda: (f32(4, 5),)),
    "log_softmax": (lambda x: ops.log_softmax(x, 1), lambda: (f32(4, 5),)),
    "cross_entropy": (ops.cross_entropy, lambda: (f32(5, 4), numpy.array([0, 3, 1, 1, 2]))),
    "nll_loss": (ops.nll_loss, lambda: (f32(5, 4), numpy.array([0, 3, 1, 1, 2]))),
    # Ignored targets: the host takes the general path, a device masks them in the fused node.
    "cross_entropy_ignore_index": (ops.cross_entropy,
                                   lambda: (f32(5, 4), numpy.array([0, -100, 1, -100, 2]))),
    "nll_loss_ignore_index": (ops.nll_loss, lambda: (f32(5, 4), numpy.array([-100, 3, 1, 1, 2]))),
    "mse_loss": (ops.mse_loss, lambda: (f32(3, 4), f32(3, 4, seed=1))),
    "batch_norm": (lambda x, w, b: ops.batch_norm(x, None, None, w, b, training=True),
                   lambda: (f32(4, 3, 2, 2), f32(3, seed=1) + 1, f32(3, seed=2))),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_matches_the_cpu(name, device):
    fn, make = OPS[name]
    arrays = make()
    out, grads = run_op(fn, arrays, device)
    ref_out, ref_grads = run_op(fn, arrays, "cpu")
    numpy.testing.assert_allclose(out, ref_out, rtol=1e-5, atol=1e-6, err_msg=f"{name} forward")
    for i, (g, r) in enumerate(zip(grads, ref_grads)):
        if r is not None:
            numpy.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-6,
                                          err_msg=f"{name} gradient of input {i}")


def test_dropout_keeps_and_scales_like_the_cpu(device):
    distgrad.manual_seed(3)
    x = distgrad.ones(2000, device=device, requires_grad=True)
    y = ops.dropout(x, p=0.25)
    y.sum().backward()
    kept = y.detach().numpy() != 0
    assert 0.7 < kept.mean() < 0.8
    numpy.testing.assert_allclose(y.detach().numpy()[kept], 1 / 0.75, rtol=1e-6)
    numpy.testing.assert_array_equal(backend.to_numpy(x.grad.array), y.detach().numpy())


@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_model_forward_backward_and_state_dict_on_the_device(name, device):
    distgrad.manual_seed(0)
    reference = models.build(name, **({"dropout": 0.0} if name == "mlp" else {}))
    distgrad.manual_seed(0)
    model = models.build(name, **({"dropout": 0.0} if name == "mlp" else {})).to(device)
    assert {p.device for p in model.parameters()} == {device}
    x, y = f32(4, 1, 28, 28), numpy.array([1, 0, 7, 3])
    for net, dev in ((reference, "cpu"), (model, device)):
        loss = nn.functional.cross_entropy(net(distgrad.tensor(x, device=dev)),
                                           distgrad.tensor(y, device=dev))
        loss.backward()
    for (key, p), q in zip(model.named_parameters(), reference.parameters()):
        numpy.testing.assert_allclose(backend.to_numpy(p.grad.array), q.grad, rtol=1e-4, atol=1e-6,
                                      err_msg=key)
    state = model.state_dict()
    assert all(isinstance(v, distgrad.Tensor) and v.device == device for v in state.values())
    fresh = models.build(name).to(device)
    fresh.load_state_dict(state)
    assert {p.device for p in fresh.parameters()} == {device}
    for key, value in fresh.state_dict().items():
        numpy.testing.assert_array_equal(value.detach().numpy(), state[key].detach().numpy(), err_msg=key)


def test_module_to_device_and_back(device):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    before = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    model.to(device)
    assert {t.device for t in list(model.parameters()) + list(model.buffers())} == {device}
    model.to("cpu")
    assert {t.device for t in model.parameters()} == {"cpu"}
    for key, value in model.state_dict().items():
        numpy.testing.assert_array_equal(value.detach().numpy(), before[key], err_msg=key)


OPTIMISERS = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=1e-2)),
    ("Adam", dict(lr=1e-2, amsgrad=True, weight_decay=0.1)),
    ("AdamW", dict(lr=1e-2, weight_decay=0.1)),
    ("RMSprop", dict(lr=1e-2, momentum=0.5, centered=True)),
]


@pytest.mark.parametrize("name,options", OPTIMISERS, ids=[n + str(i) for i, (n, _) in
                                                          enumerate(OPTIMISERS)])
def test_optimiser_steps_match_the_cpu(name, options, device):
    shapes = [(5, 3), (3,), (2, 2, 2)]
    params = {}
    for dev in ("cpu", device):
        ps = [nn.Parameter(distgrad.tensor(f32(*s, seed=i), device=dev).array)
              for i, s in enumerate(shapes)]
        opt = getattr(optim, name)(ps, **options)
        for step in range(10):
            for i, p in enumerate(ps):
                g = f32(*p.shape, seed=100 * step + i)
                p.grad = backend.to_device(g, dev)
            opt.step()
        params[dev] = [p.detach().numpy() for p in ps]
    for i, (ours, ref) in enumerate(zip(params[device], params["cpu"])):
        numpy.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-7, err_msg=f"parameter {i}")


def test_data_loader_puts_batches_on_the_device(device):
    data = ArrayDataset(f32(10, 1, 2, 2), numpy.arange(10))
    loader = DataLoader(data, batch_size=4, device=device, prefetch=True)
    batches = list(loader)
    assert [len(y) for _, y in batches] == [4, 4, 2]
    for x, y in batches:
        assert x.device == device and y.device == device
    numpy.testing.assert_array_equal(numpy.concatenate([y.detach().numpy() for _, y in batches]),
                                     numpy.arange(10))


def test_memory_figures_on_the_device(device):
    if device == "cpu":
        pytest.skip("GPU memory only")
    distgrad.cuda.reset_peak_memory_stats()
    x = distgrad.zeros(1 << 20, device=device)
    assert distgrad.cuda.memory_allocated() >= x.array.nbytes
    assert distgrad.cuda.max_memory_allocated() >= distgrad.cuda.memory_allocated()
    assert distgrad.cuda.current_device() == backend.device_index(device)


# --- the GPU plumbing that needs no GPU ----------------------------------------------------

def test_fused_cpu_formulas_match_the_plain_ones():
    gy, y = f32(50), f32(50, seed=1)
    numpy.testing.assert_array_equal(fused.relu_backward(gy, y), gy * (y > 0))
    u = numpy.random.default_rng(0).random(1000, dtype=numpy.float32)
    mask = fused.dropout_mask(u, 0.3, numpy.float32)
    assert mask.dtype == numpy.float32
    numpy.testing.assert_array_equal(mask, numpy.where(u >= 0.3, numpy.float32(1 / 0.7), 0))


@pytest.mark.parametrize("backend_name,device,launched,nccl,expected", [
    ("auto", "cpu", False, True, "single"),
    ("auto", "cuda", False, True, "single"),
    ("auto", "cpu", True, True, "mpi"),
    ("auto", "cuda", True, True, "nccl"),
    ("auto", "cuda:1", True, True, "nccl"),
    ("auto", "cuda", True, False, "mpi"),
    ("mpi", "cuda", True, True, "mpi"),
    ("single", "cuda", True, True, "single"),
])
def test_auto_backend_picks_nccl_only_for_gpus_under_a_launcher(backend_name, device, launched,
                                                                 nccl, expected):
    assert process_group.select_backend(backend_name, device, launched, nccl) == expected


def test_device_argument_is_checked_and_auto_follows_the_gpus(monkeypatch):
    assert process_group._device_kind(None) == "cpu"
    assert process_group._device_kind("cuda:2") == "cuda:2"
    monkeypatch.setattr(backend, "cuda_device_count", lambda: 0)
    assert process_group._device_kind("auto") == "cpu"
    monkeypatch.setattr(backend, "cuda_device_count", lambda: 2)
    assert process_group._device_kind("auto") == "cuda"
    with pytest.raises(ValueError, match="device='gpu0'"):
        process_group._device_kind("gpu0")


def test_a_gpu_device_without_gpus_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(backend, "cuda_device_count", lambda: 0)
    monkeypatch.delenv("PMI_RANK", raising=False)
    if dist.is_initialized():
        pytest.skip("a process group is already initialised in this process")
    with pytest.raises(RuntimeError, match="no GPU is visible"):
        dist.init_process_group("single", device="cuda")
    assert not dist.is_initialized()


def test_nccl_without_the_library_falls_back_to_mpi_and_says_so(monkeypatch):
    monkeypatch.setattr(backend, "nccl", lambda: None)
    if dist.is_initialized():
        pytest.skip("a process group is already initialised in this process")
    with pytest.warns(UserWarning, match="NCCL needs CuPy's NCCL and a GPU"):
        dist.init_process_group("nccl")
    try:
        assert dist.get_backend() in ("mpi", "single")
    finally:
        dist.destroy_process_group()


class _FakeMPI:
    def __init__(self, answer):
        self.answer = answer

    def Query_cuda_support(self):
        return self.answer


@pytest.mark.parametrize("environ,mpi,expected", [
    ({}, None, False),
    ({"DISTGRAD_CUDA_AWARE_MPI": "1"}, None, True),
    ({"DISTGRAD_CUDA_AWARE_MPI": "0", "OMPI_MCA_opal_cuda_support": "true"}, _FakeMPI(True),
     False),
    ({}, _FakeMPI(True), True),
    ({"OMPI_MCA_opal_cuda_support": "true"}, _FakeMPI(False), False),
    ({"OMPI_MCA_opal_cuda_support": "true"}, None, True),
    ({"MPICH_GPU_SUPPORT_ENABLED": "1"}, None, True),
    ({"MPICH_GPU_SUPPORT_ENABLED": "0"}, None, False),
])
def test_cuda_aware_mpi_detection(environ, mpi, expected):
    assert cuda_aware_mpi(mpi, environ) is expected


def test_cuda_aware_override_must_be_a_boolean():
    with pytest.raises(ValueError, match="DISTGRAD_CUDA_AWARE_MPI='maybe'"):
        cuda_aware_mpi(None, {"DISTGRAD_CUDA_AWARE_MPI": "maybe"})


def test_gpu_memory_figures_need_cupy(monkeypatch):
    monkeypatch.setattr(backend, "cupy", None)
    with pytest.raises(RuntimeError, match="CuPy"):
        distgrad.cuda.memory_allocated()
    assert backend.set_device("cpu") == "cpu"
    backend.synchronize()   # nothing to wait for, and no error
