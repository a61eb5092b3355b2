"""Modules: registration, traversal, state_dict (PyTorch's keys), loading, init, modes, clipping."""
import copy
import math

import numpy
import pytest

import distgrad
from distgrad import nn
from op_check import torch


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10))


def cnn():
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.bn = nn.BatchNorm1d(3)
        self.scale = nn.Parameter(numpy.ones(1, dtype=numpy.float32))
        self.register_buffer("steps", numpy.zeros(1, dtype=numpy.float32))

    def forward(self, x):
        return self.fc(x) * self.scale


def test_cnn_has_the_seed_parameter_count_and_pytorch_keys():
    model = cnn()
    assert sum(p.size for p in model.parameters()) == 225_034
    assert list(model.state_dict()) == ["0.weight", "0.bias", "3.weight", "3.bias",
                                        "7.weight", "7.bias", "9.weight", "9.bias"]


def test_registration_order_and_names():
    b = Block()
    assert [n for n, _ in b.named_parameters()] == ["scale", "fc.weight", "fc.bias", "bn.weight", "bn.bias"]
    assert [n for n, _ in b.named_buffers()] == ["steps", "bn.running_mean", "bn.running_var",
                                                 "bn.num_batches_tracked"]
    assert list(b.state_dict()) == ["scale", "steps", "fc.weight", "fc.bias", "bn.weight", "bn.bias",
                                    "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"]
    assert [n for n, _ in b.named_children()] == ["fc", "bn"]
    assert len(list(b.modules())) == 3


def test_shared_parameters_are_listed_once():
    fc = nn.Linear(3, 3)
    model = nn.Sequential(fc, nn.ReLU(), fc)
    assert len(list(model.parameters())) == 2


def test_reassigning_and_deleting_attributes():
    b = Block()
    b.fc = nn.Linear(4, 5)
    assert b.fc.out_features == 5
    with pytest.raises(TypeError, match="Parameter or None"):
        b.scale = numpy.ones(1)
    del b.fc
    assert "fc.weight" not in dict(b.named_parameters())


@pytest.mark.skipif(torch is None, reason="torch is not installed")
def test_state_dict_matches_pytorch_keys_and_shapes_both_ways():
    tnn = torch.nn
    ref = tnn.Sequential(tnn.Conv2d(1, 32, 3), tnn.ReLU(), tnn.MaxPool2d(2),
                         tnn.Conv2d(32, 64, 3), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
                         tnn.Linear(1600, 128), tnn.ReLU(), tnn.Linear(128, 10), tnn.BatchNorm1d(10))
    ours = cnn().append(nn.BatchNorm1d(10))
    theirs = ref.state_dict()
    assert list(ours.state_dict()) == list(theirs)
    for k, v in ours.state_dict().items():
        assert v.shape == tuple(theirs[k].shape), k
    ours.load_state_dict(theirs)
    for k, v in ours.state_dict().items():
        numpy.testing.assert_array_equal(v, theirs[k].numpy())
    ref.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in ours.state_dict().items()})


def test_state_dict_round_trip_shares_memory_and_deepcopy_snapshots():
    a, b = mlp(), mlp()
    snapshot = copy.deepcopy(a.state_dict())
    sd = a.state_dict()
    assert all(isinstance(v, distgrad.Tensor) and not v.requires_grad for v in sd.values())
    sd["1.weight"].zero_()  # detached Tensors sharing memory, as PyTorch's
    assert numpy.all(a[1].weight.numpy() == 0)
    assert not numpy.all(snapshot["1.weight"].numpy() == 0)
    a.load_state_dict(snapshot)
    numpy.testing.assert_array_equal(a[1].weight.numpy(), snapshot["1.weight"].numpy())
    b.load_state_dict(a.state_dict())
    for (k, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        numpy.testing.assert_array_equal(x, y)


def test_load_state_dict_keeps_parameter_arrays_in_place():
    m = mlp()
    before = m[1].weight.array
    m.load_state_dict(mlp().state_dict())
    assert m[1].weight.array is before


def test_failed_load_reports_and_changes_nothing():
    m = mlp()
    snapshot = m.state_dict()
    bad = mlp().state_dict()
    bad["4.bias"] = numpy.zeros(11, dtype=numpy.float32)
    with pytest.raises(ValueError, match=r"4.bias: shape \(11,\) in the state_dict, \(10,\) in the model"):
        m.load_state_dict(bad)
    extra = mlp().state_dict()
    extra["5.weight"] = numpy.zeros(1)
    del extra["1.bias"]
    with pytest.raises(ValueError, match="missing keys: 1.bias.*unexpected keys: 5.weight"):
        m.load_state_dict(extra)
    for k, v in m.state_dict().items():
        numpy.testing.assert_array_equal(v, snapshot[k])
    result = m.load_state_dict(extra, strict=False)
    assert result.missing_keys == ["1.bias"] and result.unexpected_keys == ["5.weight"]


def test_default_init_matches_pytorch_bounds():
    distgrad.manual_seed(0)
    fc = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w = fc.weight.numpy()
    assert w.dtype == numpy.float32
    assert -bound <= w.min() and w.max() <= bound and w.max() > 0.95 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound
    assert numpy.abs(fc.bias.numpy()).max() <= bound
    conv = nn.Conv2d(8, 16, 3)
    cb = 1 / math.sqrt(8 * 9)
    assert numpy.abs(conv.weight.numpy()).max() <= cb and numpy.abs(conv.bias.numpy()).max() <= cb


def test_init_functions_statistics():
    distgrad.manual_seed(1)
    t = nn.Parameter(numpy.empty((500, 400), dtype=numpy.float32))
    nn.init.kaiming_normal_(t, nonlinearity="relu")
    assert abs(t.numpy().std() - math.sqrt(2 / 400)) < 0.01 * math.sqrt(2 / 400) * 5
    nn.init.xavier_uniform_(t)
    assert abs(t.numpy().max() - math.sqrt(6 / 900)) < 1e-3
    nn.init.xavier_normal_(t)
    assert abs(t.numpy().std() - math.sqrt(2 / 900)) < 2e-3
    nn.init.kaiming_uniform_(t)
    assert t.numpy().max() <= math.sqrt(6 / 400)
    nn.init.zeros_(t)
    assert not t.numpy().any()
    nn.init.ones_(t)
    assert t.numpy().all()
    nn.init.normal_(t, 2.0, 0.5)
    assert abs(t.numpy().mean() - 2) < 0.01
    nn.init.uniform_(t, -3, -2)
    assert t.numpy().min() >= -3 and t.numpy().max() <= -2
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        nn.init.xavier_uniform_(nn.Parameter(numpy.ones(3, dtype=numpy.float32)))


def test_manual_seed_makes_init_reproducible():
    distgrad.manual_seed(7)
    a = mlp().state_dict()
    distgrad.manual_seed(7)
    b = mlp().state_dict()
    for k in a:
        numpy.testing.assert_array_equal(a[k], b[k])


def test_train_eval_propagate():
    m = mlp()
    m.eval()
    assert not any(x.training for x in m.modules())
    m.train()
    assert all(x.training for x in m.modules())


def test_zero_grad_and_forward_hooks():
    m = nn.Linear(3, 2)
    m(distgrad.ones(4, 3)).sum().backward()
    assert m.weight.grad is not None
    m.zero_grad(set_to_none=False)
    assert not m.weight.grad.array.any()
    m.zero_grad()
    assert m.weight.grad is None
    calls = []
    h = m.register_forward_hook(lambda mod, args, out: calls.append(out.shape))
    m.register_forward_pre_hook(lambda mod, args: calls.append("pre"))
    m(distgrad.ones(1, 3))
    h.remove()
    m(distgrad.ones(1, 3))
    assert calls == ["pre", (1, 2), "pre"]


def test_linear_bad_input_is_named():
    with pytest.raises(RuntimeError, match=r"Linear\(in_features=5\) got input of shape \(2, 4\)"):
        nn.Linear(5, 3)(distgrad.ones(2, 4))
    with pytest.raises(ValueError, match="positive sizes"):
        nn.Linear(0, 3)
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match="reduction"):
        nn.CrossEntropyLoss(reduction="avg")
    with pytest.raises(ValueError, match="kernel_size"):
        nn.Conv2d(1, 2, (3, 3, 3))
    with pytest.raises(AttributeError, match="super"):
        class Broken(nn.Module):
            def __init__(self):
                self.fc = nn.Linear(1, 1)
        Broken()


def test_linear_without_bias():
    fc = nn.Linear(3, 2, bias=False)
    assert fc.bias is None and list(fc.state_dict()) == ["weight"]
    assert fc(distgrad.ones(1, 3)).shape == (1, 2)


def test_clip_grad_norm_matches_pytorch_formula():
    ps = [nn.Parameter(numpy.full((3,), 3.0, dtype=numpy.float32)),
          nn.Parameter(numpy.full((4,), 4.0, dtype=numpy.float32))]
    ps[0].grad = numpy.full(3, 3.0, dtype=numpy.float32)
    ps[1].grad = numpy.full(4, 4.0, dtype=numpy.float32)
    total = nn.utils.clip_grad_norm_(ps, 1.0)
    expected = math.sqrt(3 * 9 + 4 * 16)
    assert total == pytest.approx(expected, rel=1e-6)
    new = math.sqrt(sum(float((p.grad ** 2).sum()) for p in ps))
    assert new == pytest.approx(1.0, rel=1e-5)
    assert nn.utils.clip_grad_norm_(ps, 10.0) == pytest.approx(1.0, rel=1e-5)  # below: unchanged
    if torch is not None:
        tp = [torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(4))]
        tp[0].grad, tp[1].grad = torch.full((3,), 3.0), torch.full((4,), 4.0)
        assert total == pytest.approx(float(torch.nn.utils.clip_grad_norm_(tp, 1.0)), rel=1e-6)
        numpy.testing.assert_allclose(ps[1].grad, tp[1].grad.numpy() * 1.0, rtol=1e-5)
    ps[0].grad.array[0] = numpy.inf
    with pytest.raises(RuntimeError, match="total norm"):
        nn.utils.clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)


def test_pytorch_keyword_arguments_are_accepted():
    m = nn.Sequential(nn.Linear(3, 2), nn.ReLU(inplace=True), nn.Dropout(0.1, inplace=True))
    m.to(distgrad.float64)
    assert m[0].weight.dtype == numpy.float64
    x = distgrad.tensor(numpy.ones((2, 3)))
    assert m(x).dtype == numpy.float64
