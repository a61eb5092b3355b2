"""Each layer module against PyTorch's (same weights, same input): outputs, input gradients,
parameter gradients and buffers, in training and eval mode."""
import numpy
import pytest

import distgrad
from distgrad import nn

torch = pytest.importorskip("torch")


def pair(ours, theirs, shape, train=True, seed=0, int_target=None):
    theirs.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in ours.state_dict().items()}, strict=True)
    ours.train(train)
    theirs.train(train)
    x = numpy.random.default_rng(seed).standard_normal(shape).astype(numpy.float32)
    a = distgrad.tensor(x, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    out, ref = ours(a), theirs(b)
    numpy.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-4, atol=1e-5)
    gy = numpy.random.default_rng(seed + 1).standard_normal(out.shape).astype(numpy.float32)
    out.backward(gy)
    ref.backward(torch.from_numpy(gy))
    numpy.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-4, atol=1e-5)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        numpy.testing.assert_allclose(p.grad, theirs_params[name].grad.numpy(), rtol=1e-4, atol=1e-4,
                                      err_msg=name)
    theirs_sd = theirs.state_dict()
    for k, v in ours.state_dict().items():
        numpy.testing.assert_allclose(v, theirs_sd[k].numpy(), rtol=1e-5, atol=1e-6, err_msg=k)


@pytest.mark.parametrize("make,shape", [
    (lambda m: m.Linear(7, 5), (4, 7)),
    (lambda m: m.Linear(7, 5, bias=False), (2, 3, 7)),
    (lambda m: m.Conv2d(3, 4, 3), (2, 3, 9, 8)),
    (lambda m: m.Conv2d(2, 3, (3, 2), stride=2, padding=1), (2, 2, 9, 7)),
    (lambda m: m.Conv2d(1, 2, 5, padding=2, bias=False), (1, 1, 6, 6)),
    (lambda m: m.MaxPool2d(2), (2, 3, 8, 8)),
    (lambda m: m.MaxPool2d(3, stride=2, padding=1), (2, 2, 9, 7)),
    (lambda m: m.AvgPool2d(2), (2, 3, 7, 9)),
    (lambda m: m.AdaptiveAvgPool2d(1), (2, 3, 5, 4)),
    (lambda m: m.ReLU(), (3, 4)),
    (lambda m: m.Sigmoid(), (3, 4)),
    (lambda m: m.Tanh(), (3, 4)),
    (lambda m: m.Softmax(dim=1), (3, 4)),
    (lambda m: m.LogSoftmax(dim=-1), (3, 4)),
    (lambda m: m.Flatten(), (2, 3, 4)),
    (lambda m: m.Sequential(m.Conv2d(1, 4, 3), m.BatchNorm2d(4), m.ReLU(), m.MaxPool2d(2),
                            m.Flatten(), m.Linear(36, 3)), (3, 1, 8, 8)),
])
def test_layer_matches_pytorch(make, shape):
    pair(make(nn), make(torch.nn), shape)


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("make,shape", [(lambda m: m.BatchNorm1d(5), (8, 5)),
                                        (lambda m: m.BatchNorm1d(3), (4, 3, 6)),
                                        (lambda m: m.BatchNorm2d(3), (4, 3, 5, 5))])
def test_batchnorm_statistics_follow_pytorch(make, shape, train):
    ours, theirs = make(nn), make(torch.nn)
    for step in range(3):  # running statistics accumulate over steps
        pair(ours, theirs, shape, train=train, seed=step)


def test_dropout_is_identity_in_eval_and_scaled_in_training():
    d = nn.Dropout(0.25)
    x = distgrad.ones(1000, 10)
    d.eval()
    assert d(x) is x or numpy.array_equal(d(x).numpy(), x.numpy())
    d.train()
    y = d(x).numpy()
    assert set(numpy.unique(y)) <= {0.0, numpy.float32(1 / 0.75)}
    assert abs((y == 0).mean() - 0.25) < 0.02


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_losses_match_pytorch(reduction):
    rng = numpy.random.default_rng(0)
    logits = rng.standard_normal((6, 4)).astype(numpy.float32)
    target = rng.integers(0, 4, 6)
    other = rng.standard_normal((6, 4)).astype(numpy.float32)
    for ours, theirs, second in [
        (nn.CrossEntropyLoss(reduction=reduction), torch.nn.CrossEntropyLoss(reduction=reduction), target),
        (nn.NLLLoss(reduction=reduction), torch.nn.NLLLoss(reduction=reduction), target),
        (nn.MSELoss(reduction=reduction), torch.nn.MSELoss(reduction=reduction), other),
    ]:
        a = distgrad.tensor(logits, requires_grad=True)
        b = torch.tensor(logits, requires_grad=True)
        out = ours(a, distgrad.tensor(second))
        ref = theirs(b, torch.from_numpy(second))
        numpy.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
        out.sum().backward()
        ref.sum().backward()
        numpy.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_layers_name_bad_inputs():
    with pytest.raises(RuntimeError, match=r"Conv2d\(in_channels=3\) got input of shape \(2, 4, 8, 8\)"):
        nn.Conv2d(3, 4, 3)(distgrad.zeros(2, 4, 8, 8))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(num_features=3\) got input of shape \(2, 4, 5, 5\)"):
        nn.BatchNorm2d(3)(distgrad.zeros(2, 4, 5, 5))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(num_features=3\)"):
        nn.BatchNorm1d(3)(distgrad.zeros(2, 3, 4, 4))
    with pytest.raises((ValueError, TypeError), match="class"):
        nn.CrossEntropyLoss()(distgrad.zeros(2, 3), distgrad.tensor([0, 3]))
