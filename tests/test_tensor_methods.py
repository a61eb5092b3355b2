"""Tensor methods with PyTorch's names, arguments, return types and dtypes: gradients against
finite differences, values, dtypes and shapes against PyTorch, and PyTorch's error classes."""
import math

import numpy
import pytest

import distgrad
from op_check import check_op, rand, torch

INF = float("inf")


def _distinct(*shape, seed=0):
    """Values with no ties and no zeros, so sorts and maxima have one answer."""
    n = int(numpy.prod(shape))
    values = numpy.random.default_rng(seed).permutation(n) + 1.0
    return (values * numpy.random.default_rng(seed + 1).choice([-0.5, 0.5], n)).reshape(shape)


def assert_like_torch(ours, theirs, where="result"):
    """``ours`` (distgrad) stands for ``theirs`` (torch): same kind, dtype, shape and values."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, distgrad.Tensor), f"{where}: {type(ours).__name__}, not a Tensor"
        assert str(theirs.dtype).split(".")[-1] == ours.dtype.name, \
            f"{where}: dtype {ours.dtype.name}, PyTorch {theirs.dtype}"
        assert tuple(ours.shape) == tuple(theirs.shape), \
            f"{where}: shape {ours.shape} vs {theirs.shape}"
        assert ours.requires_grad == theirs.requires_grad, f"{where}: requires_grad differs"
        numpy.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-5, atol=1e-6,
                                      err_msg=where)
    elif isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs), f"{where}: {ours!r}"
        fields = getattr(type(theirs), "_fields", None) or getattr(type(theirs), "__match_args__", None)
        if fields:
            assert tuple(type(ours)._fields) == tuple(fields), f"{where}: fields {type(ours)._fields}"
            assert type(ours).__name__ == type(theirs).__name__.split(".")[-1]
        for i, (o, t) in enumerate(zip(ours, theirs)):
            assert_like_torch(o, t, f"{where}[{i}]")
    else:
        assert type(ours) is type(theirs), f"{where}: {type(ours).__name__} vs {type(theirs).__name__}"
        close = isinstance(ours, float) and math.isclose(ours, theirs, rel_tol=1e-6)
        assert ours == theirs or close, f"{where}: {ours!r} vs {theirs!r}"


def same_as_torch(fn, *arrays, grad=False):
    """Run ``fn(lib, *tensors)`` in distgrad and in PyTorch on the same numbers and compare."""
    if torch is None:
        pytest.skip("torch is not installed")
    needs = [grad and a.dtype.kind == "f" for a in arrays]
    ours = fn(distgrad, *[distgrad.tensor(a, requires_grad=g) for a, g in zip(arrays, needs)])
    theirs = fn(torch, *[torch.tensor(a, requires_grad=g) for a, g in zip(arrays, needs)])
    assert_like_torch(ours, theirs)


X = rand(4, 5, seed=11).astype(numpy.float32)
M = numpy.array([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0], [4.0, 6.0, 9.0]], numpy.float32)
TIES = numpy.array([[1.0, 3.0, 3.0, 2.0], [3.0, 1.0, 1.0, 3.0]], numpy.float32)
LABELS = numpy.array([0, 3, 1, 1, 2, 0])


# --- statistics -----------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [{}, {"dim": 0}, {"dim": (0, 2), "keepdim": True},
                                    {"dim": 1, "unbiased": False}, {"dim": -1, "correction": 0},
                                    {"dim": [0, 1], "correction": 2}])
@pytest.mark.parametrize("name", ["var", "std"])
def test_var_std(name, kwargs):
    x = rand(3, 4, 5, seed=1)
    check_op(lambda a: getattr(a, name)(**kwargs), x,
             torch_fn=lambda a: getattr(a, name)(**kwargs))


def test_var_std_positional_forms_and_constant_input():
    same_as_torch(lambda lib, x: (x.var(1, True, True), x.std(0, False), x.std(False), x.var(True)), X)
    c = distgrad.ones(4, requires_grad=True)
    c.std().backward()  # the gradient at zero spread is 0, as in PyTorch, not 0/0
    assert c.grad.tolist() == [0.0] * 4
    with pytest.warns(UserWarning, match="degrees of freedom"):
        assert math.isnan(distgrad.ones(1).var().item())
    with pytest.raises(RuntimeError, match="floating point"):
        distgrad.tensor([1, 2]).std()


@pytest.mark.parametrize("p", ["fro", 1, 2, 3, 0.5, INF, -INF])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (1, False), ((0, 1), True), (-1, True)])
def test_norm(p, dim, keepdim):
    x = _distinct(3, 4, seed=2) / 4
    check_op(lambda a: a.norm(p, dim, keepdim), x,
             torch_fn=lambda a: a.norm(p, dim, keepdim))


def test_norm_of_zeros_and_ties_matches_torch():
    if torch is None:
        pytest.skip("torch is not installed")
    values = [[0.0, 0.0, 0.0], [1.0, -2.0, 2.0]]
    for p in (2, 3, 0.5, INF, 0):
        ours = distgrad.tensor(values, requires_grad=True)
        theirs = torch.tensor(values, requires_grad=True)
        ours.norm(p, dim=1).sum().backward()
        theirs.norm(p, dim=1).sum().backward()
        expected = theirs.grad if theirs.grad is not None else torch.zeros(2, 3)
        numpy.testing.assert_allclose(ours.grad.numpy(), expected.numpy(), atol=1e-6, err_msg=f"p={p}")
    same_as_torch(lambda lib, x: (x.norm(0), x.norm(p=0, dim=1)), numpy.array(values, numpy.float32))
    with pytest.raises(RuntimeError, match="not supported"):
        distgrad.ones(2, 2).norm("nuc")


# --- scans and products ---------------------------------------------------------------------
@pytest.mark.parametrize("dim,keepdim", [(None, False), (0, False), (1, True), (-1, False)])
def test_prod_is_exact_with_zeros(dim, keepdim):
    x = rand(3, 4, seed=3)
    x[1, 2] = 0.0  # a zero must not turn the gradient into 0/0
    x[2, 0] = x[2, 3] = 0.0
    check_op(lambda a: a.prod(dim, keepdim) if dim is not None else a.prod(),
             x, torch_fn=lambda a: a.prod(dim, keepdim) if dim is not None else a.prod())


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumsum(dim):
    check_op(lambda a: a.cumsum(dim), rand(3, 4, seed=4), torch_fn=lambda a: a.cumsum(dim))


def test_integer_sums_products_and_dtype_argument():
    ints = numpy.array([[1, 2, 3], [4, 5, 6]], numpy.int32)
    same_as_torch(lambda lib, x: (x.sum(), x.sum(1), x.prod(), x.prod(0), x.cumsum(1),
                                  (x > 2).sum(), (x > 2).sum(dim=0, keepdim=True)), ints)
    same_as_torch(lambda lib, x: (x.sum(dtype=lib.float64), x.mean(dtype=lib.float64),
                                  x.sum(dim=[0, 1]), x.mean((0, 1), True),
                                  x.sum(axis=0, keepdims=True)), X)
    with pytest.raises(RuntimeError, match="mean\\(\\): could not infer output dtype"):
        distgrad.tensor(ints).mean()


# --- shape ----------------------------------------------------------------------------------
def test_expand_repeat_and_their_gradients():
    v = rand(3, 1, seed=5)
    check_op(lambda a: a.expand(2, 3, 4), v, torch_fn=lambda a: a.expand(2, 3, 4))
    check_op(lambda a: a.expand(-1, 2), v, torch_fn=lambda a: a.expand(-1, 2))
    check_op(lambda a: a.expand((2, 3, 2)) * 1.0, v, torch_fn=lambda a: a.expand((2, 3, 2)) * 1.0)
    check_op(lambda a: a.repeat(2, 3), v, torch_fn=lambda a: a.repeat(2, 3))
    check_op(lambda a: a.repeat(2, 1, 3), rand(2, 3, seed=6), torch_fn=lambda a: a.repeat(2, 1, 3))
    same_as_torch(lambda lib, a, b: a.expand_as(b), numpy.ones((3, 1), numpy.float32), X[:3])
    with pytest.raises(RuntimeError, match="must match the existing size"):
        distgrad.ones(3).expand(2, 4)
    with pytest.raises(RuntimeError, match="number of sizes provided"):
        distgrad.ones(2, 3).expand(3)
    with pytest.raises(RuntimeError, match="can not be smaller"):
        distgrad.ones(2, 3).repeat(2)


def test_split_chunk_unbind_narrow_select_flip():
    x = rand(5, 4, seed=7)
    weights = lambda pieces: [p * (i + 1) for i, p in enumerate(pieces)]  # noqa: E731
    check_op(lambda a: distgrad.cat(weights(a.split(2))), x,
             torch_fn=lambda a: torch.cat(weights(a.split(2))))
    check_op(lambda a: distgrad.cat(weights(a.split([1, 3], dim=1)), 1), x,
             torch_fn=lambda a: torch.cat(weights(a.split([1, 3], dim=1)), 1))
    check_op(lambda a: distgrad.cat(weights(a.chunk(3))), x,
             torch_fn=lambda a: torch.cat(weights(a.chunk(3))))
    check_op(lambda a: distgrad.stack(weights(a.unbind(1))), x,
             torch_fn=lambda a: torch.stack(weights(a.unbind(1))))
    check_op(lambda a: a.narrow(0, 1, 3) * a.select(1, -1)[1:4, None], x,
             torch_fn=lambda a: a.narrow(0, 1, 3) * a.select(1, -1)[1:4, None])
    check_op(lambda a: a.flip(0) * a.flip([0, 1]), x, torch_fn=lambda a: a.flip(0) * a.flip([0, 1]))
    same_as_torch(lambda lib, a: (a.chunk(3, 1), a.split(3), a.unbind(), lib.zeros(5).chunk(3),
                                  lib.zeros(6).chunk(4), a.split([2, 0, 3], 1)), X)
    with pytest.raises(RuntimeError, match="sum exactly to 4"):
        distgrad.tensor(X).split([1, 1])
    with pytest.raises(RuntimeError, match="greater than 0"):
        distgrad.tensor(X).chunk(0)


def test_views_and_layout():
    same_as_torch(lambda lib, a: (a.view_as(lib.zeros(20, 1)), a.reshape_as(lib.zeros(2, 10)),
                                  a.t(), a.t().contiguous(), a.t().is_contiguous(),
                                  a.is_contiguous(), a.contiguous(), a.unflatten(1, (5, 1)),
                                  a.squeeze(), a[None, :, None].squeeze((0, 2)), a.unsqueeze(-1)), X)
    x = distgrad.tensor(X)
    assert x.contiguous() is x and x.dim() == x.ndimension() == 2 and x.nelement() == 20
    check_op(lambda a: a.t().contiguous() * 2, rand(2, 3), torch_fn=lambda a: a.t().contiguous() * 2)
    with pytest.raises(RuntimeError, match="t\\(\\) expects a tensor with <= 2 dimensions"):
        distgrad.zeros(2, 3, 4).t()
    with pytest.raises(IndexError, match=r"expected to be in range of \[-3, 2\], but got 3"):
        x.unsqueeze(3)
    with pytest.raises(IndexError, match=r"range of \[-2, 1\], but got 2"):
        x.transpose(0, 2)


def test_resize_in_place():
    x = distgrad.zeros(2, 6)
    assert x.resize_(3, 4) is x and x.shape == (3, 4)
    with pytest.raises(RuntimeError, match="needs 5 elements"):
        x.resize_(5)


# --- indexing and sorting -------------------------------------------------------------------
def test_gather_and_index_select_gradients_with_repeats():
    x = rand(3, 4, seed=8)
    index = numpy.array([[0, 0, 3], [2, 1, 2]])  # repeats: contributions must add up
    check_op(lambda a, i: a.gather(1, i), x, index, torch_fn=lambda a, i: a.gather(1, i))
    check_op(lambda a, i: a.gather(0, i), x, numpy.array([[2, 0, 2, 1]]),
             torch_fn=lambda a, i: a.gather(0, i))
    check_op(lambda a, i: a.index_select(1, i), x, numpy.array([3, 0, 3]),
             torch_fn=lambda a, i: a.index_select(1, i))
    check_op(lambda a, i: a.index_select(0, i), x, numpy.array([2, 2]),
             torch_fn=lambda a, i: a.index_select(0, i))


def test_gather_log_probs_of_labels_and_errors():
    logits = rand(6, 4, seed=9).astype(numpy.float32)
    same_as_torch(lambda lib, z, y: z.log_softmax(1).gather(1, y.unsqueeze(1)).squeeze(1),
                  logits, LABELS)
    x = distgrad.tensor(M)
    with pytest.raises(RuntimeError, match="index 5 is out of bounds for dimension 1 with size 3"):
        x.gather(1, distgrad.tensor([[5]]))
    with pytest.raises(RuntimeError, match="Expected dtype int64 for index"):
        x.gather(1, distgrad.tensor([[1]], dtype=distgrad.int32))
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        x.gather(1, distgrad.tensor([0]))
    with pytest.raises(IndexError, match="supposed to be a vector"):
        x.index_select(1, distgrad.tensor([[0]]))


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_sort_values_gradient_and_ties(dim, descending):
    check_op(lambda a: a.sort(dim, descending).values, _distinct(3, 4, seed=10),
             torch_fn=lambda a: a.sort(dim, descending).values)
    same_as_torch(lambda lib, a: (a.sort(dim, descending), a.argsort(dim, descending),
                                  a.sort(stable=True, dim=dim, descending=descending)), TIES)


def test_sort_puts_nan_last_ascending_and_first_descending():
    values = numpy.array([1.0, numpy.nan, 0.0, 1.0], numpy.float32)
    same_as_torch(lambda lib, a: (a.sort(), a.sort(descending=True), a.topk(1)), values)


@pytest.mark.parametrize("largest", [True, False])
def test_topk(largest):
    check_op(lambda a: a.topk(2, dim=1, largest=largest).values, _distinct(3, 5, seed=12),
             torch_fn=lambda a: a.topk(2, dim=1, largest=largest).values)
    # (PyTorch leaves the order of tied elements in topk unspecified: compare distinct values.)
    same_as_torch(lambda lib, a: (a.topk(2, largest=largest), a.topk(1, dim=0, largest=largest),
                                  a.topk(3, 1, largest, True)),
                  _distinct(2, 4, seed=3).astype(numpy.float32))
    with pytest.raises(RuntimeError, match="selected index k out of range"):
        distgrad.tensor(TIES).topk(5)


def test_topk_accuracy_idiom():
    ps = rand(6, 4, seed=13).astype(numpy.float32)
    same_as_torch(lambda lib, p, y: (p.topk(1, dim=1)[1] == y.view(*p.topk(1, dim=1)[1].shape))
                  .type(lib.float32).mean(), ps, LABELS)


def test_masked_fill_where_and_masked_select():
    x = rand(3, 4, seed=14)
    mask = x > 0.2
    check_op(lambda a: a.masked_fill(distgrad.tensor(mask), -1.5), x,
             torch_fn=lambda a: a.masked_fill(torch.tensor(mask), -1.5))
    check_op(lambda a: a.masked_fill(distgrad.tensor(mask[0]), 0.0), x,  # a broadcast mask
             torch_fn=lambda a: a.masked_fill(torch.tensor(mask[0]), 0.0))
    check_op(lambda a: a.masked_select(distgrad.tensor(mask)), x,
             torch_fn=lambda a: a.masked_select(torch.tensor(mask)))
    same_as_torch(lambda lib, a: (a.masked_fill(a < 0, 0.0), a.masked_fill(a > 1, -INF),
                                  a.masked_fill(a > 0, lib.tensor(2.0))), X)
    same_as_torch(lambda lib, a: a.masked_fill(a > 2, 7), numpy.arange(6).reshape(2, 3))
    with pytest.raises(RuntimeError, match="boolean masks"):
        distgrad.tensor(X).masked_fill(distgrad.tensor(X), 0.0)


def test_masked_fill_and_scatter_in_place():
    same_as_torch(lambda lib, y: lib.zeros(6, 4).scatter_(1, y.unsqueeze(1), 1.0), LABELS)
    same_as_torch(lambda lib, y: lib.zeros(2, 4).scatter_add_(
        1, y.view(2, 3), lib.ones(2, 3)), LABELS)
    same_as_torch(lambda lib, a: lib.zeros(3, 3).scatter_(0, lib.tensor([[2, 0, 1]]), a), M)
    same_as_torch(lambda lib, a: a.clone().masked_fill_(a > 4, 0.0), M)
    w = distgrad.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w.masked_fill_(w > 0, 0.0)


# --- comparisons, logic, dtypes -------------------------------------------------------------
def test_comparisons_give_bool_tensors():
    same_as_torch(lambda lib, a, b: (a.eq(b), a.ne(b), a.lt(0), a.le(0.5), a.gt(b), a.ge(2),
                                     a.isnan(), a.isfinite(), a.isinf(),
                                     a.logical_and(b), a.logical_not()),
                  X[0], X[1])
    same_as_torch(lambda lib, a: (a.equal(a.clone()), a.allclose(a + 1e-9), a.isclose(a * 1.1)), X)
    with pytest.raises(TypeError, match="cannot compare a Tensor with a list"):
        distgrad.tensor(X).eq([1.0])


def test_logical_operators():
    b = X > 0
    ints = numpy.array([1, 2, 12])
    same_as_torch(lambda lib, p, q: (p & q, p | q, p ^ q, ~p, p & True, (p | ~p).all()),
                  b[0], b[1])
    same_as_torch(lambda lib, i: (i & 3, 6 | i, i ^ i, ~i), ints)
    with pytest.raises(TypeError, match="only implemented on integer and Boolean"):
        ~distgrad.tensor(X)


def test_any_all():
    b = X > 0
    same_as_torch(lambda lib, p: (p.any(), p.all(), p.any(dim=1), p.all(0, keepdim=True),
                                  p.any((0, 1))), b)
    same_as_torch(lambda lib, a: (a.any(), a.all(1)), X)


def test_dtype_conversions():
    same_as_torch(lambda lib, a: (a.float(), a.double(), a.half(), a.long(), a.int(), a.bool(),
                                  a.short(), a.byte(), a.char(), a.type_as(lib.tensor([1])),
                                  a.type(lib.float64), a.type(lib.int64)), X)
    x = distgrad.tensor(X, requires_grad=True)
    assert x.float() is x and x.float().is_leaf and not x.double().is_leaf
    assert x.long().requires_grad is False  # integers carry no gradient
    x64 = distgrad.tensor(rand(3), requires_grad=True)
    (x64.float() * 2).sum().backward()  # the cast is in the graph: the gradient comes back as float64
    assert x64.grad.dtype == numpy.float64 and x64.grad.tolist() == [2.0] * 3


def test_type_strings():
    same_as_torch(lambda lib, a: (a.type(), a.long().type(), a.bool().type(), a.half().type(),
                                  a.int().type(), a.double().type(),
                                  a.type("torch.DoubleTensor"), a.type("torch.LongTensor")), X)
    x = distgrad.tensor(X)
    assert x.type("distgrad.IntTensor").dtype == numpy.int32
    with pytest.raises(ValueError, match="invalid type: 'torch.FooTensor'"):
        x.type("torch.FooTensor")


def test_new_tensors_take_dtype_and_device_from_self():
    same_as_torch(lambda lib, a: (a.new_zeros(2, 3), a.new_ones((3,)), a.new_full((2,), 7.0),
                                  a.new_tensor([1.0, 2.0]), a.new_zeros(2, dtype=lib.int64),
                                  a.new_empty(2, 2).shape, a.new_ones(1, requires_grad=True)),
                  X.astype(numpy.float64))


def test_item_tolist_and_format():
    same_as_torch(lambda lib, a: (a.tolist(), a[0, 1].item(), a.sum().item(),
                                  lib.tensor(3).item(), lib.tensor(True).item(), a.numel(),
                                  f"{a.sum():.3f}", format(a[0, 0], ">8.2f")), M)
    with pytest.raises(RuntimeError, match="a Tensor with 9 elements cannot be converted to Scalar"):
        distgrad.tensor(M).item()
    with pytest.raises(TypeError, match="unsupported format string"):
        format(distgrad.tensor(M), ".2f")


def test_unique_nonzero_count_nonzero():
    same_as_torch(lambda lib, a: (a.unique(), a.unique(return_inverse=True, return_counts=True)),
                  numpy.array([3, 1, 3, 2, 1]))
    same_as_torch(lambda lib, a: (a.nonzero(), a.nonzero(as_tuple=True), a.count_nonzero(),
                                  a.count_nonzero(dim=0), lib.tensor(5.0).nonzero()), M)


# --- arithmetic and elementwise math --------------------------------------------------------
@pytest.mark.parametrize("name,low", [("sin", -3), ("cos", -3), ("log1p", -0.5), ("reciprocal", 0.5),
                                      ("rsqrt", 0.5), ("square", -2), ("neg", -2), ("exp", -2)])
def test_elementwise_methods(name, low):
    x = rand(3, 4, seed=15, low=low, high=2.0)
    check_op(lambda a: getattr(a, name)(), x, torch_fn=lambda a: getattr(a, name)())


def test_integer_inputs_of_float_functions_give_float32():
    same_as_torch(lambda lib, i: (i.exp(), i.sin(), i.cos(), i.sqrt(), i.log1p(), i.rsqrt(),
                                  i.reciprocal(), i.square()), numpy.array([1, 2, 4]))


def test_rounding_has_zero_gradient_and_keeps_integers():
    x = rand(3, 4, seed=16, low=-3, high=3)
    for name in ("sign", "floor", "ceil", "round", "trunc"):
        check_op(lambda a: getattr(a, name)() * a, x, torch_fn=lambda a: getattr(a, name)() * a)
    same_as_torch(lambda lib, a: (a.round(), a.round(decimals=1), a.floor(), a.ceil(), a.trunc(),
                                  a.sign()), numpy.array([1.5, -2.5, 0.25, -0.5, 2.0], numpy.float32))
    same_as_torch(lambda lib, i: (i.round(), i.floor(), i.sign(), i.abs()), numpy.array([-2, 0, 3]))


def test_floor_divide_and_remainder():
    x, y = rand(3, 4, seed=17, low=-5, high=5), rand(4, seed=18, low=0.7, high=2.0)
    check_op(lambda a, b: a % b, x, y, torch_fn=lambda a, b: a % b)
    check_op(lambda a, b: (a // b) * a + a.floor_divide(2) * b, x, y)  # // contributes no gradient
    same_as_torch(lambda lib, a, b: (a // b, a % b, 7 // b, 7 % b, a // 2, a.remainder(-3),
                                     a.floor_divide(2), abs(a)),
                  numpy.array([5, -5, 7, -8]), numpy.array([2, 3, -2, 5]))


def test_arithmetic_methods_with_alpha_and_rounding_mode():
    x, y = rand(4, seed=19), rand(4, seed=20, low=0.5)
    check_op(lambda a, b: a.add(b, alpha=2) * a.sub(b, alpha=0.5) + a.mul(b) + a.div(b), x, y,
             torch_fn=lambda a, b: a.add(b, alpha=2) * a.sub(b, alpha=0.5) + a.mul(b) + a.div(b))
    same_as_torch(lambda lib, a, b: (a.div(b), a.div(b, rounding_mode="floor"),
                                     a.div(b, rounding_mode="trunc"), a.true_divide(2)),
                  numpy.array([7, -7, 9]), numpy.array([2, 2, -4]))
    same_as_torch(lambda lib, a: (a.div(-0.75, rounding_mode="trunc"),
                                  a.div(0.75, rounding_mode="floor")), X)
    with pytest.raises(RuntimeError, match="rounding_mode"):
        distgrad.tensor(X).div(2, rounding_mode="round")


def test_maximum_minimum_and_max_with_a_tensor():
    x, y = rand(3, 4, seed=21), rand(4, seed=22)
    check_op(lambda a, b: a.maximum(b) + a.minimum(b) * 2, x, y,
             torch_fn=lambda a, b: a.maximum(b) + a.minimum(b) * 2)
    check_op(lambda a, b: a.max(b) - a.min(b), x, y,
             torch_fn=lambda a, b: torch.max(a, b) - torch.min(a, b))
    ties = numpy.array([1.0, 2.0, 3.0], numpy.float32)
    other = numpy.array([1.0, 1.0, 5.0], numpy.float32)
    same_as_torch(lambda lib, a, b: (a.maximum(b), a.minimum(b)), ties, other)
    if torch is not None:  # ties split the gradient in halves, as in PyTorch
        a, b = distgrad.tensor(ties, requires_grad=True), distgrad.tensor(other, requires_grad=True)
        a.maximum(b).sum().backward()
        assert a.grad.tolist() == [0.5, 1.0, 0.0] and b.grad.tolist() == [0.5, 0.0, 1.0]


def test_matrix_products():
    a, b, c = rand(3, 4, seed=23), rand(4, 2, seed=24), rand(2, 3, 4, seed=25)
    check_op(lambda x, y: x.mm(y) + x.matmul(y) + x @ y, a, b,
             torch_fn=lambda x, y: x.mm(y) + x.matmul(y) + x @ y)
    check_op(lambda x: x.bmm(x.transpose(1, 2)), c, torch_fn=lambda x: x.bmm(x.transpose(1, 2)))
    check_op(lambda x: x[0].dot(x[1]) * x[0].outer(x[2]), a,
             torch_fn=lambda x: x[0].dot(x[1]) * x[0].outer(x[2]))
    with pytest.raises(RuntimeError, match="mm: expected 2-D tensors"):
        distgrad.tensor(c).mm(distgrad.tensor(b))
    with pytest.raises(RuntimeError, match="matmul got shapes"):
        distgrad.tensor(a) @ distgrad.tensor(a)


def test_max_min_argmax_with_dims():
    same_as_torch(lambda lib, a: (a.max(1), a.max(dim=0, keepdim=True), a.min(-1), a.max(),
                                  a.argmax(1, keepdim=True), a.argmin(dim=0), a.amax((0, 1))), M)
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of "
                                         r"\[-2, 1\], but got 2\)"):
        distgrad.tensor(X).max(dim=2)


# --- in-place and graph ---------------------------------------------------------------------
def test_detach_and_requires_grad_in_place():
    x = distgrad.ones(2, requires_grad=True)
    y = x * 2
    assert y.detach_() is y and y.grad_fn is None and not y.requires_grad and y.is_leaf
    z = distgrad.ones(2).requires_grad_()
    assert z.requires_grad and z.is_floating_point() and not distgrad.tensor([1]).is_floating_point()
    assert z.element_size() == 4 and z.get_device() == -1 and z.pin_memory() is z


def test_errors_name_the_method_and_use_pytorch_classes():
    x = distgrad.tensor(X)
    with pytest.raises(TypeError, match=r"Tensor\.sum\(\) got an unexpected keyword argument 'kdim'"):
        x.sum(kdim=True)
    with pytest.raises(TypeError, match=r"Tensor\.std\(\) got an unexpected keyword argument 'ddof'"):
        x.std(ddof=1)
    with pytest.raises(IndexError, match=r"range of \[-2, 1\], but got 3"):
        x.sum(dim=3)
    with pytest.raises(IndexError, match=r"but got -3"):
        x.softmax(-3)
    with pytest.raises(RuntimeError, match="dim 1 appears multiple times in the list of dims"):
        x.sum((1, -1))
    with pytest.raises(RuntimeError, match="cannot reshape"):
        x.view(-1, 7)


def test_in_place_math_and_shape_methods():
    same_as_torch(lambda lib, a: (a.clone().relu_(), a.clone().sigmoid_(), a.clone().tanh_(),
                                  a.clone().neg_(), a.clone().sign_(), a.clone().floor_(),
                                  a.clone().ceil_(), a.clone().trunc_(), a.clone().round_(),
                                  a.clone().square_(), a.clone().sin_(), a.clone().cos_(),
                                  a.clone().exp_(), a.clone().abs_().log1p_()), X)
    same_as_torch(lambda lib, a: (a.clone().sqrt_().exp_().log_().pow_(2).abs_(),
                                  a.clone().rsqrt_(), a.clone().reciprocal_(),
                                  a.clone().addcmul_(a, a, value=0.5),
                                  a.clone().addcdiv_(a, a + 1, value=2)),
                  M + 1)
    same_as_torch(lambda lib, a: (a.clone().t_(), a.clone().transpose_(0, 1), a.clone().unsqueeze_(0),
                                  a.clone()[None].squeeze_(0), a.clone().unsqueeze_(2).squeeze_()), M)
    same_as_torch(lambda lib, i: (lib.zeros(3).index_add_(0, i, lib.ones(3)),
                                  lib.zeros(3, 2).index_add_(0, i, lib.ones(3, 2), alpha=2)),
                  numpy.array([0, 2, 2]))
    x = distgrad.tensor(M)
    assert x.relu_() is x and x.t_() is x
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type int64"):
        distgrad.tensor([1, 4]).sqrt_()
    w = distgrad.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w.relu_()
    with distgrad.no_grad():
        w.mul_(-1).relu_()
    assert w.tolist() == [0.0, 0.0] and w.is_leaf


def test_zero_dimensional_tensors():
    same_as_torch(lambda lib, s: (s.sum(), s.sum(0), s.mean(-1), s.max(), s.max(0), s.argmax(0),
                                  s.norm(), s.sort(), s.topk(1), s.cumsum(0), s.prod(0),
                                  s.flatten(), s.unsqueeze(0), s.expand(3), s.repeat(2), s.any(),
                                  s.nonzero(), s.flip(0), s.t(), s.view(1), s.amax(0)),
                  numpy.array(2.5, numpy.float32))
    with pytest.raises(RuntimeError, match="start_dim \\(1\\) cannot come after end_dim \\(0\\)"):
        distgrad.tensor(X).flatten(1, 0)
