"""Elementwise, reduction, shape and matmul ops: finite differences and PyTorch, many shapes."""
import numpy
import pytest

import distgrad
from distgrad import ops
import op_check
from op_check import check_op, rand

BROADCAST_PAIRS = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 3, 4), (3, 1)), ((1, 4), (3, 1)), ((5,), ())]


@pytest.mark.parametrize("sx,sy", BROADCAST_PAIRS)
@pytest.mark.parametrize("name", ["add", "sub", "mul", "div"])
def test_binary_ops_broadcast(name, sx, sy):
    x, y = rand(*sx, seed=1), rand(*sy, seed=2, low=0.5, high=2.0)
    fn = getattr(ops, name)
    tfn = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b,
           "mul": lambda a, b: a * b, "div": lambda a, b: a / b}[name]
    check_op(fn, x, y, torch_fn=tfn)


def test_pow_with_tensor_and_scalar_exponent():
    x, y = rand(3, 4, low=0.5, high=2.0, seed=3), rand(4, seed=4)
    check_op(ops.pow, x, y, torch_fn=lambda a, b: a ** b)
    check_op(lambda a: a ** 3, x, torch_fn=lambda a: a ** 3)
    check_op(lambda a: 2.0 ** a, y, torch_fn=lambda a: 2.0 ** a)


def test_scalar_operands_and_reflected_operators():
    x = rand(2, 3, seed=5, low=0.5)
    check_op(lambda a: (1 - a) * 3 + 2 / a - -a, x, torch_fn=lambda a: (1 - a) * 3 + 2 / a - -a)


@pytest.mark.parametrize("name,low", [("exp", -2), ("log", 0.1), ("sqrt", 0.1), ("abs", -1),
                                      ("relu", -1), ("sigmoid", -3), ("tanh", -2)])
@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4)])
def test_unary_ops(name, low, shape):
    x = rand(*shape, seed=6, low=low, high=2.0)
    if name in ("abs", "relu"):  # keep away from the kink where differences are meaningless
        x = numpy.where(numpy.abs(x) < 1e-2, 0.5, x)
    import op_check
    tfn = None if op_check.torch is None else getattr(op_check.torch, name)
    check_op(getattr(ops, name), x, torch_fn=tfn)


def test_sigmoid_extreme_values_are_finite():
    x = distgrad.tensor([-1e4, 0.0, 1e4], requires_grad=True)
    y = x.sigmoid()
    numpy.testing.assert_allclose(y.numpy(), [0.0, 0.5, 1.0])
    y.sum().backward()
    assert numpy.isfinite(x.grad.numpy()).all()


def test_clip():
    x = rand(4, 5, seed=7)
    x = numpy.where(numpy.abs(numpy.abs(x) - 0.5) < 1e-2, 0.1, x)
    check_op(lambda a: a.clip(-0.5, 0.5), x, torch_fn=lambda a: a.clamp(-0.5, 0.5))
    check_op(lambda a: a.clip(min=0.0), x + 0.05, torch_fn=lambda a: a.clamp(min=0.0))
    with pytest.raises(ValueError, match="at least one"):
        ops.clip(distgrad.tensor(x), None, None)


@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, False), (1, True), ((0, 2), False), (-1, True)])
@pytest.mark.parametrize("name", ["sum", "mean"])
def test_sum_mean(name, axis, keepdims):
    x = rand(3, 4, 5, seed=8)
    tdim = axis if axis is not None else tuple(range(3))

    def tfn(a):
        return getattr(a, name)(dim=tdim, keepdim=keepdims)
    check_op(lambda a: getattr(a, name)(dim=axis, keepdim=keepdims), x, torch_fn=tfn)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_max_along_axis_gives_gradient_to_argmax(axis):
    x = rand(4, 6, seed=9)
    check_op(lambda a: a.max(dim=axis).values, x, torch_fn=lambda a: a.max(dim=axis).values)


def test_max_ties_follow_pytorch():
    import op_check
    x = numpy.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    t = distgrad.tensor(x, requires_grad=True)
    t.max(dim=1).values.sum().backward()
    numpy.testing.assert_array_equal(t.grad, [[0, 1, 0], [1, 0, 0]])
    t.grad = None
    t.max().backward()
    numpy.testing.assert_array_equal(t.grad, [[0, 0.5, 0.5], [0, 0, 0]])
    v = distgrad.tensor([1.0, 5.0, 5.0], requires_grad=True)  # one axis, but no axis given
    v.max().backward()
    numpy.testing.assert_array_equal(v.grad, [0, 0.5, 0.5])
    assert v.grad.dtype == numpy.float32
    if op_check.torch is not None:
        tt = op_check.torch.tensor(x, requires_grad=True)
        tt.max().backward()
        numpy.testing.assert_array_equal(t.grad, tt.grad.numpy())


def test_shape_ops():
    x = rand(2, 3, 4, seed=10)
    check_op(lambda a: a.reshape(4, 6) * 2, x, torch_fn=lambda a: a.reshape(4, 6) * 2)
    check_op(lambda a: a.reshape(-1) * 2, x, torch_fn=lambda a: a.reshape(-1) * 2)
    check_op(lambda a: a.transpose(0, 2) * 2, x, torch_fn=lambda a: a.transpose(0, 2) * 2)
    check_op(lambda a: a.permute(1, 2, 0) * 2, x, torch_fn=lambda a: a.permute(1, 2, 0) * 2)
    check_op(lambda a: a.T * 2, rand(3, 5), torch_fn=lambda a: a.T * 2)
    check_op(lambda a: a.flatten(1) * 2, x, torch_fn=lambda a: a.flatten(1) * 2)
    check_op(lambda a: a.unsqueeze(1).squeeze(1) * 2, x, torch_fn=lambda a: a.unsqueeze(1).squeeze(1) * 2)
    with pytest.raises(RuntimeError, match=r"cannot reshape a tensor of shape \(2, 3, 4\)"):
        distgrad.tensor(x).reshape(5, 5)


@pytest.mark.parametrize("index", [1, (slice(None), 2), (slice(1, None), slice(None, None, 2)),
                                   (Ellipsis, 0), ([0, 0, 2],), (numpy.array([1, 0, 1]), slice(None))])
def test_getitem(index):
    x = rand(3, 4, seed=11)
    check_op(lambda a: a[index] * 2, x, torch_fn=lambda a: a[index] * 2)


@pytest.mark.parametrize("sx,sy", [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)),
                                   ((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((1, 3, 4), (2, 4, 2))])
def test_matmul(sx, sy):
    check_op(ops.matmul, rand(*sx, seed=12), rand(*sy, seed=13), torch_fn=lambda a, b: a @ b)


def test_matmul_mismatch_names_shapes():
    with pytest.raises(RuntimeError, match=r"matmul got shapes \(2, 3\) and \(4, 5\)"):
        distgrad.tensor(rand(2, 3)) @ distgrad.tensor(rand(4, 5))


@pytest.mark.parametrize("sx", [(5, 4), (2, 3, 4), (4,)])
def test_linear(sx):
    import op_check
    tfn = None if op_check.torch is None else op_check.torch.nn.functional.linear
    check_op(ops.linear, rand(*sx, seed=14), rand(3, 4, seed=15), rand(3, seed=16), torch_fn=tfn)
    check_op(ops.linear, rand(*sx, seed=14), rand(3, 4, seed=15), torch_fn=tfn)


def test_to_dtype_is_differentiable():
    x = distgrad.tensor(rand(3), dtype=numpy.float32, requires_grad=True)
    y = x.to(dtype=numpy.float64)
    assert y.dtype == numpy.float64
    (y * 2).sum().backward()
    assert x.grad.dtype == numpy.float32
    numpy.testing.assert_allclose(x.grad, 2)


def test_comparisons_return_bool_tensors_without_grad():
    x = distgrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    m = x > 1.5
    assert m.dtype == bool and not m.requires_grad
    numpy.testing.assert_array_equal((x == 2.0).numpy(), [False, True, False])
    assert {x: 1}[x] == 1  # tensors stay usable as dict keys


def test_creation_functions():
    distgrad.manual_seed(3)
    a = distgrad.randn(2, 3)
    distgrad.manual_seed(3)
    b = distgrad.randn((2, 3))
    numpy.testing.assert_array_equal(a.numpy(), b.numpy())
    assert a.dtype == numpy.float32 and distgrad.zeros(2, 2).dtype == numpy.float32
    assert distgrad.arange(5).dtype == numpy.int64
    assert distgrad.tensor([1, 2]).dtype == numpy.int64
    assert distgrad.tensor([1.5]).dtype == numpy.float32
    assert distgrad.full((2,), 7.0).numpy().tolist() == [7.0, 7.0]
    assert 0 <= distgrad.rand(100).numpy().min() and distgrad.rand(100).numpy().max() < 1
    src = numpy.ones(3, dtype=numpy.float32)
    t = distgrad.tensor(src)
    src[0] = 5
    assert t.numpy()[0] == 1  # tensor() copies
    assert distgrad.get_array_module(t) is numpy and t.device == "cpu"


def test_tensor_basics():
    t = distgrad.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert t.shape == (2, 2) and t.ndim == 2 and t.size == 4 and t.is_leaf
    assert (t.sum()).item() == 10.0
    assert t.argmax(dim=1).numpy().tolist() == [1, 1]
    d = t.detach()
    assert not d.requires_grad and numpy.shares_memory(d.array, t.array)
    with pytest.raises(RuntimeError, match="one element"):
        t.item()
    with pytest.raises(ValueError, match="unknown device"):
        t.to("tpu")


def test_pytorch_idioms_size_view_and_to_dtype():
    x = distgrad.randn(4, 3, 2)
    assert x.size == 24 and x.size() == (4, 3, 2) and x.size(0) == 4 and x.size(-1) == 2
    assert x.view(x.size(0), -1).shape == (4, 6)
    assert x.to(distgrad.float64).dtype == numpy.float64
    assert x.to("cpu", dtype=numpy.float16).dtype == numpy.float16


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_min(axis):
    x = rand(4, 5, seed=21)
    tfn = (lambda a: a.min()) if axis is None else (lambda a: a.min(dim=axis).values)
    check_op(tfn, x, torch_fn=tfn)


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("dim,keepdim", [(0, False), (1, False), (-1, True)])
def test_max_min_along_dim_give_values_and_indices_as_pytorch(name, dim, keepdim):
    x = numpy.array([[3, 1, 3, 0], [2, 5, 5, -1], [0, 0, 7, 7]], dtype=numpy.float32)
    result = getattr(distgrad.tensor(x), name)(dim, keepdim)
    assert type(result).__name__ == name and result._fields == ("values", "indices")
    values, indices = result
    assert indices.dtype == numpy.int64 and values.dtype == numpy.float32
    assert result[1] is indices and result.values is values
    pick = numpy.argmax if name == "max" else numpy.argmin
    numpy.testing.assert_array_equal(indices.numpy(), pick(x, axis=dim, keepdims=keepdim))
    if op_check.torch is not None:
        theirs = getattr(op_check.torch.tensor(x), name)(dim, keepdim)
        numpy.testing.assert_array_equal(values.numpy(), theirs.values.numpy())
        assert indices.shape == tuple(theirs.indices.shape)


def test_accuracy_line_counts_correct_predictions():
    output = distgrad.tensor([[0.1, 2.0, 0.3], [5.0, 0.2, 0.1], [0.0, 0.1, 0.9]])
    target = distgrad.tensor([1, 2, 2])
    pred = output.max(1)[1]  # the classic accuracy idiom: indices, not values
    assert pred.tolist() == [1, 0, 2]
    assert int((pred == target).sum()) == 2
    assert output.argmax(dim=1, keepdim=True).shape == (3, 1)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_and_stack(dim):
    a, b = rand(2, 3, seed=22), rand(2, 3, seed=23)
    import op_check
    tcat = None if op_check.torch is None else (lambda x, y: op_check.torch.cat([x, y], dim) * 2)
    tstack = None if op_check.torch is None else (lambda x, y: op_check.torch.stack([x, y], dim) * 2)
    check_op(lambda x, y: distgrad.cat([x, y], dim) * 2, a, b, torch_fn=tcat)
    check_op(lambda x, y: distgrad.stack([x, y], dim) * 2, a, b, torch_fn=tstack)
    c = rand(2, 5, seed=24)
    check_op(lambda x, y: distgrad.cat([x, y], 1) * 2, a, c)
    with pytest.raises(RuntimeError, match="cat along dim 0 got shapes"):
        distgrad.cat([distgrad.tensor(a), distgrad.tensor(c)], 0)
    with pytest.raises(RuntimeError, match="stack needs tensors of one shape"):
        distgrad.stack([distgrad.tensor(a), distgrad.tensor(c)])


def test_more_pytorch_tensor_methods():
    x = distgrad.tensor([[1.0, -2.0], [3.0, 0.5]])
    assert x.numel() == 4 and x.double().dtype == numpy.float64 and x.long().dtype == numpy.int64
    numpy.testing.assert_allclose(x.softmax(1).numpy().sum(axis=1), [1, 1], rtol=1e-6)
    numpy.testing.assert_allclose(x.log_softmax(-1).exp().numpy().sum(axis=1), [1, 1], rtol=1e-6)
    z = distgrad.zeros_like(x)
    assert z.shape == x.shape and z.dtype == x.dtype and not z.numpy().any()
    assert distgrad.ones_like(x, dtype=numpy.float64).dtype == numpy.float64
