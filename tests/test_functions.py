"""Module-level math, ``distgrad.X(input, ...)`` as ``torch.X``: values, dtypes, return types and
gradients against PyTorch, and finite differences for the differentiable ones."""
import numpy
import pytest

import distgrad
from op_check import check_op, rand, torch
from test_tensor_methods import M, X, same_as_torch

V = numpy.array([3.0, -1.0, 2.0, 0.5, -2.0], numpy.float32)
IMAGES = rand(2, 3, 4, 4, seed=31).astype(numpy.float32)
BATCH = rand(2, 3, 4, seed=32).astype(numpy.float32)


@pytest.mark.parametrize("name,low", [("exp", -2), ("log", 0.2), ("sqrt", 0.2), ("sin", -3),
                                      ("cos", -3), ("tanh", -2), ("sigmoid", -3), ("abs", 0.1),
                                      ("log1p", -0.5), ("rsqrt", 0.2), ("reciprocal", 0.2),
                                      ("square", -2), ("neg", -2), ("relu", 0.1)])
def test_elementwise_functions(name, low):
    x = rand(3, 4, seed=33, low=low, high=2.0)
    check_op(getattr(distgrad, name), x, torch_fn=None if torch is None else getattr(torch, name))


def test_rounding_functions():
    same_as_torch(lambda lib, a: (lib.floor(a), lib.ceil(a), lib.round(a), lib.round(a, decimals=1),
                                  lib.trunc(a), lib.sign(a)), V * 1.3)


def test_reductions():
    same_as_torch(lambda lib, a: (lib.sum(a), lib.mean(a), lib.sum(a, dim=1), lib.sum(a, (0, 1)),
                                  lib.mean(a, dim=0, keepdim=True), lib.prod(a, 1),
                                  lib.cumsum(a, dim=0), lib.sum(a, 1, dtype=lib.float64),
                                  lib.amax(a, 1), lib.amin(a), lib.numel(a)), X)
    check_op(lambda a: distgrad.sum(a, dim=[0, 2], keepdim=True) * distgrad.mean(a, 1).sum(),
             BATCH.astype(numpy.float64),
             torch_fn=lambda a: torch.sum(a, dim=[0, 2], keepdim=True) * torch.mean(a, 1).sum())


def test_max_min_forms():
    same_as_torch(lambda lib, a, b: (lib.max(a), lib.max(a, 1), lib.max(a, dim=0, keepdim=True),
                                     lib.min(a, 1), lib.min(a, dim=0, keepdim=True), lib.max(a, b),
                                     lib.min(a, b), lib.maximum(a, b), lib.minimum(a, b),
                                     lib.argmax(a), lib.argmax(a, dim=1),
                                     lib.argmin(a, dim=0, keepdim=True)),
                  M, M[::-1].copy())
    _, predicted = distgrad.max(distgrad.tensor(M).data, 1)  # the classic accuracy line
    assert predicted.dtype == numpy.int64 and predicted.tolist() == [1, 0, 2]
    check_op(lambda a, b: distgrad.max(a, b) * distgrad.min(a, 1).values[:, None],
             rand(3, 4, seed=34), rand(3, 4, seed=35),
             torch_fn=lambda a, b: torch.max(a, b) * torch.min(a, 1).values[:, None])


def test_where_forms():
    same_as_torch(lambda lib, a: (lib.where(a > 0, a, lib.zeros_like(a)), lib.where(a > 0, a, 0.0),
                                  lib.where(a > 0, 1.0, 0.0), lib.where(a > 0, 1, 0),
                                  lib.where(a > 0)), V)
    x, y = rand(3, 4, seed=36), rand(4, seed=37)
    mask = x > y
    check_op(lambda a, b: distgrad.where(distgrad.tensor(mask), a, b), x, y,
             torch_fn=lambda a, b: torch.where(torch.tensor(mask), a, b))
    with pytest.raises(RuntimeError, match="boolean masks"):
        distgrad.where(distgrad.tensor(V), distgrad.tensor(V), 0.0)


def test_matrix_functions():
    w = rand(5, 3, seed=38).astype(numpy.float32)
    same_as_torch(lambda lib, a, b, c: (lib.matmul(a, b), lib.mm(a, b), lib.bmm(c, c.transpose(1, 2)),
                                        lib.dot(a[0], a[1]), lib.outer(a[0], b[0]), lib.t(a)),
                  X, w, BATCH)
    check_op(lambda a, c: distgrad.bmm(c, c.transpose(1, 2)) * distgrad.mm(a, a.t()).sum(),
             rand(2, 2, seed=39), BATCH.astype(numpy.float64),
             torch_fn=lambda a, c: torch.bmm(c, c.transpose(1, 2)) * torch.mm(a, a.t()).sum())
    with pytest.raises(RuntimeError, match="bmm: expected 3-D tensors"):
        distgrad.bmm(distgrad.tensor(X), distgrad.tensor(X))


def test_clamp_pow_and_arithmetic():
    same_as_torch(lambda lib, a: (lib.clamp(a, min=-0.5, max=0.5), lib.clamp(a, min=0),
                                  lib.clip(a, -0.2, 0.2), lib.pow(a, 2), lib.pow(2, a),
                                  lib.add(a, a, alpha=2), lib.sub(a, 1), lib.mul(a, 3),
                                  lib.div(a, 4), lib.div(a, 0.3, rounding_mode="floor"),
                                  lib.remainder(a, 0.7), lib.floor_divide(a, 0.7)), X)
    check_op(lambda a: distgrad.pow(a, 3) + distgrad.clamp(a, -0.5, 0.5), rand(3, 4, seed=40),
             torch_fn=lambda a: torch.pow(a, 3) + torch.clamp(a, -0.5, 0.5))


def test_statistics_functions():
    same_as_torch(lambda lib, a: (lib.std(a), lib.var(a, 1), lib.std(a, dim=0, keepdim=True),
                                  lib.var(a, correction=0), lib.norm(a), lib.norm(a, 1, dim=1),
                                  lib.norm(a, float("inf"))), X)
    check_op(lambda a: distgrad.std(a, 1) * distgrad.norm(a, dim=0).sum(), rand(3, 4, seed=41),
             torch_fn=lambda a: torch.std(a, 1) * torch.norm(a, dim=0).sum())


def test_comparison_and_logic_functions():
    same_as_torch(lambda lib, a, b: (lib.eq(a, b), lib.ne(a, 2), lib.lt(a, b), lib.le(a, 0.5),
                                     lib.gt(a, b), lib.ge(a, 2), lib.equal(a, a.clone()),
                                     lib.allclose(a, a + 1e-9), lib.isclose(a, b),
                                     lib.isnan(a), lib.isinf(a), lib.isfinite(a),
                                     lib.logical_and(a > 0, b > 0), lib.logical_or(a > 0, b > 0),
                                     lib.logical_xor(a > 0, b > 0), lib.logical_not(a > 0),
                                     lib.any(a > 2), lib.all(a > -5, dim=0),
                                     lib.count_nonzero(a > 0), lib.nonzero(a > 0)),
                  V, V[::-1].copy())
    same_as_torch(lambda lib, a: lib.unique(a, return_counts=True), numpy.array([3, 1, 3, 2, 1]))


def test_shape_and_selection_functions():
    same_as_torch(lambda lib, a: (lib.flatten(a, 1), lib.flatten(a), lib.flatten(a, 1, 2),
                                  lib.reshape(a, (2, -1)), lib.squeeze(a[:1]),
                                  lib.unsqueeze(a, 0).shape, lib.transpose(a, 0, 1),
                                  lib.permute(a, (3, 2, 1, 0)).shape), IMAGES)
    idx = numpy.array([2, 0])
    same_as_torch(lambda lib, a, i: (lib.gather(a, 1, lib.tensor([[0], [2], [1]])),
                                     lib.index_select(a, 0, i), lib.masked_fill(a, a > 4, 0.0),
                                     lib.masked_select(a, a > 4), lib.chunk(a, 2), lib.split(a, [1, 2]),
                                     lib.unbind(a, 1), lib.narrow(a, 1, 1, 2), lib.select(a, 0, -1),
                                     lib.flip(a, [0]), lib.clone(a)), M, idx)
    same_as_torch(lambda lib, a: (lib.topk(a, 2), lib.sort(a, descending=True), lib.argsort(a),
                                  lib.sort(a, dim=0)), V)


def test_softmax_functions():
    same_as_torch(lambda lib, a: (lib.softmax(a, dim=1), lib.log_softmax(a, 1)), X)


def test_functions_want_tensors():
    with pytest.raises(TypeError, match=r"exp\(\): argument 'input' must be a Tensor, not list"):
        distgrad.exp([1.0, 2.0])
    with pytest.raises(TypeError, match=r"distgrad.sum\(\): argument 'input' must be a Tensor"):
        distgrad.sum(numpy.ones(3))
    with pytest.raises(IndexError, match=r"Dimension out of range"):
        distgrad.max(distgrad.tensor(X), 2)


def test_every_exported_function_is_documented():
    for name in distgrad.functions.__all__:
        assert name in distgrad.__all__ and getattr(distgrad, name).__doc__, name


def test_out_argument():
    same_as_torch(lambda lib, a: (lib.matmul(a, a.T, out=lib.empty(4, 4)),
                                  lib.mul(a, a, out=lib.empty(0)), lib.exp(a, out=lib.zeros(4, 5)),
                                  lib.sum(a, 1, out=lib.zeros(4)), lib.clamp(a, 0, out=lib.zeros(4, 5)),
                                  lib.add(a, 1, alpha=2, out=lib.empty(0))), X)
    y = distgrad.zeros(4, 4)
    assert distgrad.matmul(distgrad.tensor(X), distgrad.tensor(X).T, out=y) is y
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        distgrad.exp(distgrad.tensor(X, requires_grad=True), out=distgrad.zeros(4, 5))
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type int64"):
        distgrad.exp(distgrad.tensor(X), out=distgrad.zeros(4, 5, dtype=distgrad.int64))
