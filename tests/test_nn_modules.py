"""nn layers against torch.nn from identical weights (forward, backward, repr, state_dict keys),
the containers' list/dict behaviour, and Module's PyTorch API."""
import copy
import warnings

import numpy
import pytest

import distgrad
from distgrad import nn
from op_check import rand, torch


def pair(name, *args, **kwargs):
    """The same layer in distgrad and torch, torch's weights copied from ours."""
    ours = getattr(nn, name)(*args, **kwargs)
    theirs = getattr(torch.nn, name)(*args, **kwargs)
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    return ours, theirs


LAYERS = [  # name, args, kwargs, input shape, integer input classes
    ("Identity", (3,), {"unused": 1}, (2, 3), None),
    ("LeakyReLU", (0.2,), {}, (3, 4), None),
    ("ELU", (), {"alpha": 0.5}, (3, 4), None),
    ("GELU", (), {}, (3, 4), None),
    ("GELU", (), {"approximate": "tanh"}, (3, 4), None),
    ("SiLU", (), {}, (3, 4), None),
    ("Softplus", (), {"beta": 2, "threshold": 5}, (3, 4), None),
    ("Hardtanh", (-0.5, 0.5), {}, (3, 4), None),
    ("ReLU6", (), {}, (3, 4), None),
    ("LogSigmoid", (), {}, (3, 4), None),
    ("PReLU", (), {}, (3, 4), None),
    ("PReLU", (4,), {"init": 0.1}, (3, 4, 2), None),
    ("Softmax", (), {"dim": 1}, (3, 4), None),
    ("LogSoftmax", (), {"dim": -1}, (3, 4), None),
    ("Softmin", (), {"dim": 0}, (3, 4), None),
    ("LayerNorm", (4,), {}, (3, 4), None),
    ("LayerNorm", ((2, 4),), {"eps": 1e-3, "bias": False}, (3, 2, 4), None),
    ("LayerNorm", (4,), {"elementwise_affine": False}, (3, 4), None),
    ("GroupNorm", (2, 4), {}, (3, 4, 5), None),
    ("GroupNorm", (1, 4), {"affine": False}, (3, 4, 2, 2), None),
    ("Embedding", (10, 3), {"padding_idx": 0}, (2, 5), 10),
    ("Embedding", (10, 3), {"max_norm": 1.0}, (4,), 10),
    ("Unflatten", (1, (2, 3)), {}, (4, 6), None),
    ("Flatten", (), {}, (2, 3, 4), None),
    ("Dropout2d", (), {}, (2, 3, 4, 4), None),
    ("BatchNorm1d", (4,), {"momentum": None}, (5, 4), None),
]


@pytest.mark.parametrize("name,args,kwargs,shape,classes", LAYERS, ids=[l[0] for l in LAYERS])
def test_layer_matches_torch(name, args, kwargs, shape, classes):
    if torch is None:
        pytest.skip("torch is not installed")
    distgrad.manual_seed(0)
    ours, theirs = pair(name, *args, **kwargs)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    if name == "Dropout2d":  # random: compare in eval mode, where it is the identity
        ours.eval(), theirs.eval()
    if classes:
        x = numpy.random.default_rng(1).integers(0, classes, size=shape)
        xo, xt = distgrad.tensor(x), torch.tensor(x)
    else:
        x = rand(*shape, seed=2, low=-3, high=3).astype(numpy.float32)
        xo, xt = distgrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    numpy.testing.assert_allclose(yo.numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    gy = rand(*yo.shape, seed=3).astype(numpy.float32)
    yo.backward(gy)
    yt.backward(torch.tensor(gy))
    if not classes:
        numpy.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-5)
    for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        numpy.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-5,
                                      err_msg=n)
    for (n, b), (_, c) in zip(ours.named_buffers(), theirs.named_buffers()):
        numpy.testing.assert_allclose(b.numpy(), c.numpy(), rtol=1e-6, err_msg=n)


def test_embedding_init_and_from_pretrained():
    distgrad.manual_seed(1)
    emb = nn.Embedding(2000, 50, padding_idx=3)
    w = emb.weight.numpy()
    assert (w[3] == 0).all()
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01
    table = distgrad.tensor(rand(4, 2, seed=4))
    frozen = nn.Embedding.from_pretrained(table)
    assert not frozen.weight.requires_grad and numpy.shares_memory(frozen.weight.array, table.array)
    assert nn.Embedding.from_pretrained(table, freeze=False).weight.requires_grad


def test_dropout2d_module_in_training():
    distgrad.manual_seed(0)
    y = nn.Dropout2d(p=0.5)(distgrad.ones(4, 8, 2, 2)).numpy()
    assert set(numpy.unique(y)) == {0.0, 2.0}


def test_softmax_module_without_dim_warns_at_the_caller():
    x = distgrad.tensor(rand(2, 3, seed=5))
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax") as record:
        out = nn.Softmax()(x)
    assert record[0].filename == __file__
    numpy.testing.assert_allclose(out.numpy().sum(axis=1), 1.0)


# --- containers -----------------------------------------------------------------------------

def test_sequential_list_behaviour():
    layers = [nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 3), nn.Tanh()]
    seq = nn.Sequential(*layers)
    assert len(seq) == 4 and seq[-1] is layers[3] and list(seq) == layers
    head = seq[1:3]
    assert isinstance(head, nn.Sequential) and list(head._modules) == ["1", "2"]
    seq[1] = nn.Sigmoid()
    assert isinstance(seq[1], nn.Sigmoid)
    del seq[1]
    assert list(seq._modules) == ["0", "1", "2"] and seq[1] is layers[2]
    seq.insert(1, nn.ReLU())
    seq.append(nn.Identity())
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear", "Tanh", "Identity"]
    assert isinstance(seq.pop(-1), nn.Identity) and len(seq) == 4
    assert len(seq + nn.Sequential(nn.ReLU())) == 5
    with pytest.raises(IndexError, match="index 9 is out of range"):
        seq[9]
    assert seq(distgrad.ones(1, 2)).shape == (1, 3)


def test_module_list_and_dict():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    ml.append(nn.ReLU()).extend([nn.Tanh()])
    ml.insert(0, nn.Identity())
    assert len(ml) == 6 and isinstance(ml[0], nn.Identity) and isinstance(ml[-1], nn.Tanh)
    assert isinstance(ml[1:3], nn.ModuleList) and len(ml[1:3]) == 2
    del ml[0]
    assert list(ml._modules) == [str(i) for i in range(5)]
    assert len(list(ml.parameters())) == 6
    md = nn.ModuleDict({"a": nn.Linear(2, 2)})
    md["b"] = nn.Linear(2, 3)
    md.update([("c", nn.ReLU())])
    assert list(md) == ["a", "b", "c"] and "b" in md and len(md) == 3
    assert [k for k, _ in md.items()] == list(md.keys())
    assert isinstance(md.pop("c"), nn.ReLU) and len(md) == 2
    assert [n for n, _ in md.named_parameters()] == ["a.weight", "a.bias", "b.weight", "b.bias"]
    if torch is not None:
        theirs = torch.nn.ModuleList([torch.nn.Linear(2, 2) for _ in range(3)] + [torch.nn.ReLU()])
        ours = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU()])
        assert repr(ours) == repr(theirs)
        assert repr(nn.ModuleDict({"a": nn.ReLU()})) == repr(torch.nn.ModuleDict({"a": torch.nn.ReLU()}))


def test_parameter_list_and_dict():
    pl = nn.ParameterList([nn.Parameter(distgrad.zeros(2, 3)), distgrad.ones(4)])
    assert len(pl) == 2 and isinstance(pl[1], nn.Parameter)
    pl.append(distgrad.zeros(1))

    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.params = pl
            self.named = nn.ParameterDict({"scale": distgrad.ones(3)})

    h = Holder()
    assert [n for n, _ in h.named_parameters()] == ["params.0", "params.1", "params.2",
                                                     "named.scale"]
    assert "distgrad.float32 of size 2x3" in repr(pl)
    assert h.named["scale"].requires_grad and list(h.named.keys()) == ["scale"]
    if torch is not None:
        for n in (1, 2):
            theirs = torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(2, 3))] * n)
            ours = nn.ParameterList([nn.Parameter(distgrad.zeros(2, 3))] * n)
            assert repr(ours) == repr(theirs).replace("torch.", "distgrad.")


# --- Module API -----------------------------------------------------------------------------

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(4, 8), nn.ReLU())
        self.head = nn.Linear(8, 2)
        self.register_buffer("steps", distgrad.zeros((), dtype=distgrad.int64))
        self.register_buffer("cache", distgrad.zeros(3), persistent=False)

    def forward(self, x, scale=1.0):
        return self.head(self.features(x)) * scale


def test_traversal_names_as_pytorch():
    net = Net()
    assert [n for n, _ in net.named_modules()] == ["", "features", "features.0", "features.1",
                                                  "head"]
    assert [n for n, _ in net.named_modules(prefix="m")][:2] == ["m", "m.features"]
    assert [n for n, _ in net.named_children()] == ["features", "head"]
    assert [n for n, _ in net.named_parameters(prefix="net")][0] == "net.features.0.weight"
    assert list(net.named_parameters(recurse=False)) == []
    assert [n for n, _ in net.named_buffers()] == ["steps", "cache"]
    assert list(net.state_dict()) == ["steps", "features.0.weight", "features.0.bias",
                                      "head.weight", "head.bias"]
    assert net.get_submodule("features.0") is net.features[0]
    assert net.get_parameter("head.bias") is net.head.bias
    assert net.get_buffer("steps") is net.steps
    with pytest.raises(AttributeError, match="Linear has no attribute `foo`"):
        net.get_submodule("head.foo")


def test_call_forwards_keyword_arguments():
    net = Net()
    x = distgrad.ones(1, 4)
    numpy.testing.assert_allclose(net(x, scale=2.0).numpy(), 2 * net(x).numpy(), rtol=1e-6)


def test_attribute_semantics():
    net = Net()
    with pytest.raises(TypeError, match="cannot assign Tensor as parameter 'weight'"):
        net.head.weight = distgrad.ones(2, 8)
    net.head.bias = None
    assert "head.bias" not in net.state_dict()
    net.steps = distgrad.ones((), dtype=distgrad.int64)
    assert net.state_dict()["steps"].item() == 1
    del net.head
    assert "head" not in dict(net.named_children())
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'head'"):
        net.head
    with pytest.raises(KeyError, match="already exists"):
        net.register_buffer("features", distgrad.zeros(1))
    with pytest.raises(KeyError, match="empty or contain"):
        net.register_parameter("a.b", None)
    assert "features" in dir(net)


def test_dtype_and_device_conversions():
    net = Net()
    assert net.double().head.weight.dtype == numpy.float64
    assert net.steps.dtype == numpy.int64  # integer buffers are not cast
    assert net.half().head.weight.dtype == numpy.float16
    assert net.float().head.weight.dtype == numpy.float32
    net.to(distgrad.float64)
    assert net.head.weight.dtype == numpy.float64
    net.to(distgrad.tensor([1.0], dtype=distgrad.float32))
    assert net.head.weight.dtype == numpy.float32
    assert net.to("cpu", dtype=distgrad.float64, non_blocking=True) is net
    assert net.cpu().head.weight.device == "cpu"
    with pytest.raises(TypeError, match="floating point dtypes"):
        net.to(distgrad.int64)


def test_modes_grads_and_apply():
    net = Net()
    assert not net.eval().features[1].training and net.train().head.training
    with pytest.raises(ValueError, match="boolean"):
        net.train("yes")
    net(distgrad.ones(2, 4)).sum().backward()
    net.zero_grad(set_to_none=False)
    assert all((p.grad.numpy() == 0).all() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    assert not any(p.requires_grad for p in net.requires_grad_(False).parameters())
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "ReLU", "Sequential", "Linear", "Net"]


def test_load_state_dict_result_and_assign():
    net, other = Net(), Net()
    result = net.load_state_dict(other.state_dict())
    assert repr(result) == "<All keys matched successfully>"
    assert result.missing_keys == [] and result.unexpected_keys == []
    sd = other.state_dict()
    del sd["head.bias"]
    sd["extra"] = distgrad.zeros(1)
    missing, unexpected = net.load_state_dict(sd, strict=False)
    assert missing == ["head.bias"] and unexpected == ["extra"]
    fresh = distgrad.tensor(rand(2, 8, seed=6).astype(numpy.float32))
    net.load_state_dict({"head.weight": fresh}, strict=False, assign=True)
    assert numpy.shares_memory(net.head.weight.array, fresh.array)


def test_deepcopy_and_repr_match_torch():
    net = Net()
    clone = copy.deepcopy(net)
    assert not numpy.shares_memory(clone.head.weight.array, net.head.weight.array)
    numpy.testing.assert_array_equal(clone.head.weight.numpy(), net.head.weight.numpy())
    if torch is None:
        return

    class TorchNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.features = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU())
            self.head = torch.nn.Linear(8, 2)

    assert repr(net).replace("Net(", "TorchNet(", 1) == repr(TorchNet())
    p = nn.Parameter(distgrad.zeros(2))
    assert repr(p).startswith("Parameter containing:\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert repr(nn.Sequential()) == repr(torch.nn.Sequential())


def test_unflatten_checks_the_sizes():
    assert nn.Unflatten(1, (2, -1))(distgrad.ones(3, 10)).shape == (3, 2, 5)
    with pytest.raises(ValueError, match=r"sizes \(2, 4\) for dim 1 of size 10"):
        nn.Unflatten(1, (2, 4))(distgrad.ones(3, 10))
