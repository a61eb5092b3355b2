"""nn.init (distributions tested statistically: the random streams differ from PyTorch's, the
formulas do not) and nn.utils (clipping and parameter vectors) against torch."""
import math

import numpy
import pytest

import distgrad
from distgrad import nn
from distgrad.nn import init
from distgrad.nn.utils import (clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_,
                               get_total_norm, parameters_to_vector, vector_to_parameters)
from op_check import rand, torch


def sample(shape, fill, seed=0):
    distgrad.manual_seed(seed)
    t = nn.Parameter(distgrad.zeros(*shape))
    with distgrad.no_grad():
        assert fill(t) is t  # every initialiser returns its tensor
    return t.numpy().astype(numpy.float64)


def test_gain_table_matches_torch():
    names = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
             "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]
    for name in names:
        expected = (torch.nn.init.calculate_gain(name) if torch is not None else None)
        if expected is not None:
            assert init.calculate_gain(name) == expected, name
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    with pytest.raises(ValueError, match="Unsupported nonlinearity cube"):
        init.calculate_gain("cube")
    with pytest.raises(ValueError, match="negative_slope True not a valid number"):
        init.calculate_gain("leaky_relu", True)


def test_fans():
    w = distgrad.zeros(16, 8, 3, 5)
    assert init._calculate_fan_in_and_fan_out(w) == (8 * 15, 16 * 15)
    if torch is not None:
        assert init._calculate_fan_in_and_fan_out(w) == \
            torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(16, 8, 3, 5))


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity,a", [("relu", 0), ("leaky_relu", 0.1), ("tanh", 0),
                                            ("linear", 0)])
def test_kaiming(mode, nonlinearity, a):
    shape = (300, 200, 3)
    fan = 200 * 3 if mode == "fan_in" else 300 * 3
    std = init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    u = sample(shape, lambda t: init.kaiming_uniform_(t, a, mode, nonlinearity))
    assert abs(u).max() <= math.sqrt(3) * std * (1 + 1e-6)
    assert u.std() == pytest.approx(std, rel=0.01)
    n = sample(shape, lambda t: init.kaiming_normal_(t, a, mode, nonlinearity))
    assert n.std() == pytest.approx(std, rel=0.01) and abs(n.mean()) < 0.01 * std


def test_kaiming_rejects_unknown_mode():
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(distgrad.zeros(3, 3), mode="fan_avg")


def test_xavier_with_gain():
    std = 2.0 * math.sqrt(2.0 / (400 + 300))
    u = sample((400, 300), lambda t: init.xavier_uniform_(t, gain=2.0))
    assert abs(u).max() <= math.sqrt(3) * std * (1 + 1e-6)
    assert u.std() == pytest.approx(std, rel=0.01)
    assert sample((400, 300), lambda t: init.xavier_normal_(t, gain=2.0)).std() == \
        pytest.approx(std, rel=0.01)


def test_uniform_normal_constant():
    u = sample((500, 200), lambda t: init.uniform_(t, -2, 3))
    assert u.min() >= -2 and u.max() < 3 and u.mean() == pytest.approx(0.5, abs=0.02)
    n = sample((500, 200), lambda t: init.normal_(t, 1.5, 0.5))
    assert n.mean() == pytest.approx(1.5, abs=0.005) and n.std() == pytest.approx(0.5, rel=0.01)
    assert (sample((3, 4), lambda t: init.constant_(t, 0.25)) == 0.25).all()
    assert (sample((3, 4), init.ones_) == 1).all() and (sample((3, 4), init.zeros_) == 0).all()


@pytest.mark.parametrize("mean,std,a,b", [(0.0, 1.0, -2.0, 2.0), (0.0, 1.0, -1.0, 0.5),
                                          (1.0, 0.02, 0.99, 1.05), (0.0, 1.0, 2.0, 3.0)])
def test_trunc_normal_moments(mean, std, a, b):
    x = sample((400, 500), lambda t: init.trunc_normal_(t, mean, std, a, b))
    assert x.min() >= a and x.max() <= b
    # The truncated normal's mean and variance in closed form.
    alpha, beta = (a - mean) / std, (b - mean) / std
    pdf = [math.exp(-v * v / 2) / math.sqrt(2 * math.pi) for v in (alpha, beta)]
    z = 0.5 * (math.erf(beta / math.sqrt(2)) - math.erf(alpha / math.sqrt(2)))
    mu = mean + std * (pdf[0] - pdf[1]) / z
    var = std ** 2 * (1 + (alpha * pdf[0] - beta * pdf[1]) / z - ((pdf[0] - pdf[1]) / z) ** 2)
    assert x.mean() == pytest.approx(mu, abs=0.01 * math.sqrt(var) + 1e-9)
    assert x.var() == pytest.approx(var, rel=0.02)


@pytest.mark.parametrize("shape", [(6, 10), (10, 6), (4, 3, 2, 2)])
def test_orthogonal(shape):
    q = sample(shape, lambda t: init.orthogonal_(t, gain=2.0)).reshape(shape[0], -1)
    rows, cols = q.shape
    gram = q @ q.T if rows <= cols else q.T @ q
    numpy.testing.assert_allclose(gram, 4.0 * numpy.eye(min(rows, cols)), atol=1e-5)


def test_eye_dirac_sparse():
    numpy.testing.assert_array_equal(sample((3, 5), init.eye_), numpy.eye(3, 5))
    if torch is not None:
        for shape, groups in (((4, 2, 3), 1), ((6, 3, 3, 3), 2), ((2, 4, 1, 3, 3), 1)):
            ours = sample(shape, lambda t: init.dirac_(t, groups))
            theirs = torch.nn.init.dirac_(torch.zeros(shape), groups).numpy()
            numpy.testing.assert_array_equal(ours, theirs)
    s = sample((50, 40), lambda t: init.sparse_(t, 0.3, std=0.5))
    assert ((s == 0).sum(axis=0) >= 15).all()
    assert s[s != 0].std() == pytest.approx(0.5, rel=0.1)


def test_init_writes_through_a_parameter_used_in_a_graph():
    layer = nn.Linear(3, 2)
    layer(distgrad.ones(1, 3)).sum().backward()
    init.zeros_(layer.weight)
    assert layer.weight.requires_grad and (layer.weight.numpy() == 0).all()


def test_init_honours_a_generator():
    a = sample((3, 4), lambda t: init.normal_(t, generator=distgrad.Generator().manual_seed(5)),
               seed=1)
    b = sample((3, 4), lambda t: init.normal_(t, generator=distgrad.Generator().manual_seed(5)),
               seed=2)
    numpy.testing.assert_array_equal(a, b)
    c = sample((3, 4), lambda t: init.orthogonal_(t, generator=numpy.random.default_rng(5)))
    assert c.shape == (3, 4)
    with pytest.raises(TypeError, match="expected a distgrad.Generator"):
        init.uniform_(distgrad.zeros(2), generator=5)


# --- nn.utils -------------------------------------------------------------------------------

def grads_pair(seed=0):
    arrays = [rand(3, 4, seed=seed), rand(5, seed=seed + 1), rand(2, 2, seed=seed + 2)]
    ours = [distgrad.tensor(a.astype(numpy.float32), requires_grad=True) for a in arrays]
    for p, a in zip(ours, arrays):
        p.grad = distgrad.tensor((3 * a).astype(numpy.float32))
    return arrays, ours


def torch_params(arrays):
    ps = [torch.tensor(a.astype(numpy.float32), requires_grad=True) for a in arrays]
    for p, a in zip(ps, arrays):
        p.grad = torch.tensor((3 * a).astype(numpy.float32))
    return ps


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf, 3])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    torch_ = pytest.importorskip("torch")
    arrays, ours = grads_pair()
    theirs = torch_params(arrays)
    total = clip_grad_norm_(ours, max_norm, norm_type)
    ref = torch_.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert isinstance(total, distgrad.Tensor) and total.shape == () and total.dtype == numpy.float32
    numpy.testing.assert_allclose(total.item(), ref.item(), rtol=1e-6)
    for p, q in zip(ours, theirs):
        numpy.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-6)


def test_total_norm_then_clip_is_clip_grad_norm():
    arrays, ours = grads_pair(seed=3)
    _, again = grads_pair(seed=3)
    total = get_total_norm([p.grad for p in ours])
    clip_grads_with_norm_(ours, 1.0, total)
    assert total.item() == clip_grad_norm_(again, 1.0).item()
    for p, q in zip(ours, again):
        numpy.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())


def test_clip_grad_value_matches_torch():
    torch_ = pytest.importorskip("torch")
    arrays, ours = grads_pair(seed=4)
    theirs = torch_params(arrays)
    assert clip_grad_value_(ours, 0.7) is None
    torch_.nn.utils.clip_grad_value_(theirs, 0.7)
    for p, q in zip(ours, theirs):
        numpy.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())


def test_parameters_to_vector_and_back():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    vec = parameters_to_vector(model.parameters())
    assert vec.shape == (3 * 4 + 4 + 4 * 2 + 2,)
    expected = numpy.concatenate([p.numpy().reshape(-1) for p in model.parameters()])
    numpy.testing.assert_array_equal(vec.numpy(), expected)
    (vec * distgrad.tensor(numpy.arange(vec.shape[0], dtype=numpy.float32))).sum().backward()
    numpy.testing.assert_array_equal(model[0].weight.grad.numpy().reshape(-1), numpy.arange(12))
    new = distgrad.tensor(numpy.arange(vec.shape[0], dtype=numpy.float32))
    vector_to_parameters(new, model.parameters())
    numpy.testing.assert_array_equal(model[2].bias.numpy(), [24.0, 25.0])
    assert numpy.shares_memory(model[0].weight.array, new.array)  # views, as PyTorch
    if torch is not None:
        tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
        torch.nn.utils.vector_to_parameters(torch.tensor(new.numpy()), tm.parameters())
        for p, q in zip(model.parameters(), tm.parameters()):
            numpy.testing.assert_array_equal(p.numpy(), q.detach().numpy())
    with pytest.raises(TypeError, match="expected a Tensor, but got: list"):
        vector_to_parameters([1.0], model.parameters())
    with pytest.raises(ValueError, match=r"vec of shape \(3,\) for parameters with 26 elements"):
        vector_to_parameters(distgrad.zeros(3), model.parameters())
