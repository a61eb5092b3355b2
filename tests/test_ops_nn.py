"""Neural-network ops — conv2d, pooling, softmax, losses, batch_norm, dropout: finite
differences and PyTorch over many shapes, numerical stability, and the errors bad inputs get."""
import numpy
import pytest

import distgrad
from distgrad import ops
from op_check import check_op, compare_with_torch, distinct, rand, torch

F = None if torch is None else torch.nn.functional


def channels_last(a):
    """The same values as ``a`` (N, C, H, W) in NHWC memory order, as conv outputs have."""
    return numpy.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


# --- conv2d -------------------------------------------------------------------------------

CONV_CASES = [  # input shape, weight shape, stride, padding
    ((2, 3, 7, 6), (4, 3, 3, 2), 1, 0),
    ((1, 2, 9, 8), (3, 2, 3, 3), 2, 1),
    ((2, 1, 7, 7), (2, 1, 2, 3), (3, 2), (2, 1)),
    ((1, 2, 5, 5), (2, 2, 5, 5), 1, 2),
    ((3, 1, 6, 5), (1, 1, 1, 1), 1, 0),
    ((1, 4, 8, 7), (2, 4, 3, 3), 3, 1),
]


@pytest.mark.parametrize("xs,ws,stride,padding", CONV_CASES)
def test_conv2d(xs, ws, stride, padding):
    x, w, b = rand(*xs, seed=1), rand(*ws, seed=2), rand(ws[0], seed=3)
    check_op(lambda x, w, b: ops.conv2d(x, w, b, stride=stride, padding=padding), x, w, b,
             torch_fn=lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=padding))


def test_conv2d_without_bias_and_frozen_input():
    x, w = rand(2, 3, 6, 6, seed=4), rand(2, 3, 3, 3, seed=5)
    check_op(lambda x, w: ops.conv2d(x, w, padding=1), x, w,
             torch_fn=lambda x, w: F.conv2d(x, w, padding=1))
    check_op(lambda x, w: ops.conv2d(x, w, stride=2), x, w, grad=[False, True],
             torch_fn=lambda x, w: F.conv2d(x, w, stride=2))


def test_conv2d_input_memory_order_does_not_matter():
    x, w, b = rand(2, 3, 7, 7, seed=6), rand(4, 3, 3, 3, seed=7), rand(4, seed=8)
    outs = []
    for data in (x, channels_last(x)):
        xt, wt = distgrad.tensor(data, requires_grad=True), distgrad.tensor(w, requires_grad=True)
        y = ops.conv2d(xt, wt, distgrad.tensor(b), padding=1)
        y.backward(channels_last(rand(*y.shape, seed=9)))
        outs.append((y.detach().numpy(), xt.grad, wt.grad))
    for a, c in zip(*outs):
        numpy.testing.assert_allclose(a, c, rtol=1e-6)


def test_conv2d_retain_graph_backward_twice():
    x = distgrad.tensor(rand(1, 2, 5, 5, seed=10), requires_grad=True)
    w = distgrad.tensor(rand(3, 2, 3, 3, seed=11), requires_grad=True)
    y = ops.conv2d(x, w, padding=1).sum()
    y.backward(retain_graph=True)
    first = x.grad.detach().numpy().copy(), w.grad.detach().numpy().copy()
    y.backward()
    numpy.testing.assert_allclose(x.grad, 2 * first[0], rtol=1e-6)
    numpy.testing.assert_allclose(w.grad, 2 * first[1], rtol=1e-6)


def test_conv2d_same_shape_twice_in_one_graph():
    # Both column buffers are alive at once (and recycled afterwards): they must not alias.
    def fn(x, w1, w2):
        return ops.conv2d(x, w1, padding=1) * ops.conv2d(x, w2, padding=1)
    for _ in range(2):
        check_op(fn, rand(2, 2, 4, 4, seed=12), rand(3, 2, 3, 3, seed=13),
                 rand(3, 2, 3, 3, seed=14), torch_fn=lambda x, w1, w2: (
                     F.conv2d(x, w1, padding=1) * F.conv2d(x, w2, padding=1)))


def test_conv2d_bad_inputs_name_the_values():
    x, w = distgrad.zeros(2, 3, 8, 8), distgrad.zeros(4, 2, 3, 3)
    with pytest.raises(ValueError, match=r"input of shape \(2, 3, 8, 8\) with 3 channels but "
                                         r"weight of shape \(4, 2, 3, 3\) expects 2"):
        ops.conv2d(x, w)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\), got shape \(3, 8, 8\)"):
        ops.conv2d(distgrad.zeros(3, 8, 8), w)
    with pytest.raises(ValueError, match=r"padded size \(2, 2\) is smaller than the kernel"):
        ops.conv2d(distgrad.zeros(1, 2, 2, 2), w)
    with pytest.raises(ValueError, match=r"bias of shape \(3,\).*expected \(4,\)"):
        ops.conv2d(distgrad.zeros(1, 2, 5, 5), w, distgrad.zeros(3))
    with pytest.raises(ValueError, match=r"stride must be positive, got \(0, 0\)"):
        ops.conv2d(distgrad.zeros(1, 2, 5, 5), w, stride=0)
    with pytest.raises(ValueError, match=r"padding must be non-negative, got \(-1, 1\)"):
        ops.conv2d(distgrad.zeros(1, 2, 5, 5), w, padding=(-1, 1))
    with pytest.raises(TypeError, match=r"stride must be an int or a pair of ints, got 1.5"):
        ops.conv2d(distgrad.zeros(1, 2, 5, 5), w, stride=1.5)


# --- pooling ------------------------------------------------------------------------------

POOL_CASES = [  # input shape, kernel_size, stride, padding
    ((2, 3, 6, 6), 2, None, 0),
    ((1, 2, 7, 9), 3, 2, 0),
    ((2, 2, 5, 5), 3, 1, 1),
    ((1, 3, 7, 8), (2, 3), (1, 2), (1, 1)),
    ((2, 1, 8, 8), 2, 3, 0),
    ((1, 2, 11, 11), 2, None, 0),
    ((1, 1, 1, 1), 1, None, 0),
]


@pytest.mark.parametrize("xs,kernel,stride,padding", POOL_CASES)
def test_max_pool2d(xs, kernel, stride, padding):
    check_op(lambda x: ops.max_pool2d(x, kernel, stride, padding), distinct(*xs, seed=12),
             torch_fn=lambda x: F.max_pool2d(x, kernel, stride, padding))


@pytest.mark.parametrize("xs,kernel,stride,padding", POOL_CASES)
def test_avg_pool2d(xs, kernel, stride, padding):
    check_op(lambda x: ops.avg_pool2d(x, kernel, stride, padding), rand(*xs, seed=13),
             torch_fn=lambda x: F.avg_pool2d(x, kernel, stride, padding))


@pytest.mark.parametrize("kernel,stride", [(2, None), (3, 1), (3, 2)])
def test_max_pool2d_ties_go_to_the_first_maximum(kernel, stride):
    x = numpy.zeros((1, 2, 6, 6))
    x[0, 1, 2:4, 2:4] = 1.0
    compare_with_torch(lambda t: ops.max_pool2d(t, kernel, stride),
                       lambda t: F.max_pool2d(t, kernel, stride), x)
    xt = distgrad.tensor(x, requires_grad=True)
    ops.max_pool2d(xt, kernel, stride).sum().backward()
    # In the all-zero channel every window's first element takes its window's gradient.
    starts = numpy.zeros((6, 6))
    step = stride or kernel
    for r in range(0, 6 - kernel + 1, step):
        for c in range(0, 6 - kernel + 1, step):
            starts[r, c] += 1
    numpy.testing.assert_array_equal(xt.grad[0, 0], starts)


def test_max_pool2d_channels_last_input():
    x = distinct(2, 3, 7, 7, seed=14)
    a = ops.max_pool2d(distgrad.tensor(x), 3, 2, 1).detach().numpy()
    b = ops.max_pool2d(distgrad.tensor(channels_last(x)), 3, 2, 1).detach().numpy()
    numpy.testing.assert_array_equal(a, b)


def test_adaptive_avg_pool2d():
    for size in (1, (1, 1)):
        check_op(lambda x: ops.adaptive_avg_pool2d(x, size), rand(2, 3, 4, 5, seed=15),
                 torch_fn=lambda x: F.adaptive_avg_pool2d(x, size))
    with pytest.raises(ValueError, match=r"output_size=1.*got output_size=2"):
        ops.adaptive_avg_pool2d(distgrad.zeros(1, 1, 4, 4), 2)


@pytest.mark.parametrize("op", [ops.max_pool2d, ops.avg_pool2d])
def test_pooling_bad_inputs_name_the_values(op):
    x = distgrad.zeros(1, 2, 4, 4)
    with pytest.raises(ValueError, match=r"padding must be between 0 and half the kernel size, "
                                         r"got padding=\(2, 2\) for kernel_size=\(3, 3\)"):
        op(x, 3, padding=2)
    with pytest.raises(ValueError, match=r"input of shape \(1, 2, 4, 4\).*output size \(0, 0\)"):
        op(x, 5)
    with pytest.raises(ValueError, match=r"positive kernel_size and stride, got "
                                         r"kernel_size=\(0, 0\)"):
        op(x, 0)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\), got shape \(2, 4, 4\)"):
        op(distgrad.zeros(2, 4, 4), 2)
    with pytest.raises(TypeError, match="kernel_size must be an int or a pair of ints"):
        op(x, (2, 2, 2))


# --- softmax ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", [((4, 5), 1), ((4, 5), 0), ((2, 3, 4), -1), ((2, 3, 4), 1),
                                       ((6,), 0)])
def test_softmax(name, shape, dim):
    fn = getattr(ops, name)
    check_op(lambda x: fn(x, dim), rand(*shape, seed=16, low=-3, high=3),
             torch_fn=lambda x: getattr(F, name)(x, dim))


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_extreme_logits_are_finite_and_match_torch(name):
    x = numpy.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [5e3, 1e4, 1e4]])
    compare_with_torch(lambda t: getattr(ops, name)(t, 1), lambda t: getattr(F, name)(t, 1), x)
    t = distgrad.tensor(x, requires_grad=True)
    y = getattr(ops, name)(t, 1)
    y.backward(numpy.ones_like(x))
    assert numpy.isfinite(y.detach().numpy()).all() and numpy.isfinite(t.grad.detach().numpy()).all()


def test_softmax_bad_dim():
    # PyTorch's IndexError and message
    with pytest.raises(IndexError, match=r"range of \[-2, 1\], but got 2\)"):
        ops.softmax(distgrad.zeros(2, 3), 2)
    with pytest.raises(IndexError, match=r"range of \[-2, 1\], but got -3\)"):
        ops.log_softmax(distgrad.zeros(2, 3), -3)


# --- losses -------------------------------------------------------------------------------

TARGET = numpy.array([2, 0, 4, 4, 1])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy(reduction):
    check_op(lambda x, t: ops.cross_entropy(x, t, reduction=reduction),
             rand(5, 6, seed=17, low=-3, high=3), TARGET,
             torch_fn=lambda x, t: F.cross_entropy(x, t, reduction=reduction))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss(reduction):
    check_op(lambda x, t: ops.nll_loss(ops.log_softmax(x, 1), t, reduction=reduction),
             rand(5, 6, seed=18, low=-3, high=3), TARGET,
             torch_fn=lambda x, t: F.nll_loss(F.log_softmax(x, 1), t, reduction=reduction))
    check_op(lambda x, t: ops.nll_loss(x, t, reduction=reduction), rand(5, 6, seed=19), TARGET,
             torch_fn=lambda x, t: F.nll_loss(x, t, reduction=reduction))


def test_cross_entropy_extreme_logits():
    x = numpy.array([[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4], [1e4, 1e4, -1e4]])
    target = numpy.array([1, 1, 0])
    for reduction in ("mean", "none"):
        compare_with_torch(lambda a, t: ops.cross_entropy(a, t, reduction=reduction),
                           lambda a, t: F.cross_entropy(a, t, reduction=reduction), x, target)
    t = distgrad.tensor(x, requires_grad=True)
    loss = ops.cross_entropy(t, target, reduction="none")
    numpy.testing.assert_allclose(loss.detach().numpy(), [2e4, 0.0, numpy.log(2)], rtol=1e-6)
    loss.sum().backward()
    numpy.testing.assert_allclose(t.grad, [[1, -1, 0], [0, 0, 0], [-0.5, 0.5, 0]], atol=1e-6)


def test_cross_entropy_targets_as_tensor_array_or_list():
    x = rand(3, 4, seed=20)
    values = [ops.cross_entropy(distgrad.tensor(x), t).item()
              for t in (distgrad.tensor(numpy.array([0, 3, 1])), numpy.array([0, 3, 1]), [0, 3, 1])]
    assert values[0] == values[1] == values[2]


@pytest.mark.parametrize("fn", [ops.cross_entropy, ops.nll_loss])
def test_class_target_errors_name_the_values(fn):
    x = distgrad.zeros(3, 10)
    name = fn.__name__
    with pytest.raises(ValueError, match=rf"{name} got target 10, out of range for 10 classes"):
        fn(x, numpy.array([0, 10, 3]))
    with pytest.raises(ValueError, match=rf"{name} got target -1, out of range for 10 classes"):
        fn(x, numpy.array([0, -1, 3]))
    floats = numpy.array([0.0, 1.0, 2.0], dtype=numpy.float32)
    if fn is ops.nll_loss:
        with pytest.raises(TypeError, match=r"integer class indices as target, got dtype float32"):
            fn(x, floats)
    else:  # float targets are class probabilities, which need the input's shape
        with pytest.raises(ValueError, match=r"class indices must be integers"):
            fn(x, floats)
    with pytest.raises(ValueError, match=r"input of shape \(3, 10\) but target of shape \(2,\)"):
        fn(x, numpy.array([0, 1]))
    with pytest.raises(ValueError, match=r"input of shape \(3, 10, 2\) but target of shape "
                                         r"\(3,\): expected \(3, 2\)"):
        fn(distgrad.zeros(3, 10, 2), numpy.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"reduction='avg': expected 'mean', 'sum' or 'none'"):
        fn(x, numpy.array([0, 1, 2]), reduction="avg")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss(reduction):
    check_op(lambda a, b: ops.mse_loss(a, b, reduction=reduction), rand(3, 4, seed=21),
             rand(3, 4, seed=22), torch_fn=lambda a, b: F.mse_loss(a, b, reduction=reduction))
    check_op(lambda a, b: ops.mse_loss(a, b, reduction=reduction), rand(5, seed=23),
             rand(5, seed=24), grad=[True, False],
             torch_fn=lambda a, b: F.mse_loss(a, b, reduction=reduction))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_broadcasts_with_pytorchs_warning(reduction):
    # (N, 1) against (N,) is N x N errors: PyTorch warns and computes them; so does distgrad.
    with pytest.warns(UserWarning, match="different to the input size"):
        check_op(lambda a, b: ops.mse_loss(a, b, reduction=reduction), rand(4, 1, seed=25),
                 rand(4, seed=26), torch_fn=lambda a, b: F.mse_loss(a, b, reduction=reduction))


# --- batch_norm ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(6, 3), (4, 2, 3, 3), (3, 4, 5)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm(shape, training):
    c = shape[1]
    mean, var = rand(c, seed=25), rand(c, seed=26, low=0.5, high=2.0)
    check_op(lambda x, w, b: ops.batch_norm(x, mean.copy(), var.copy(), w, b, training=training),
             rand(*shape, seed=27), rand(c, seed=28), rand(c, seed=29),
             torch_fn=lambda x, w, b: F.batch_norm(x, torch.tensor(mean, dtype=torch.float32),
                                                   torch.tensor(var, dtype=torch.float32), w, b,
                                                   training=training))
    check_op(lambda x: ops.batch_norm(x, mean.copy(), var.copy(), training=training),
             rand(*shape, seed=30),
             torch_fn=lambda x: F.batch_norm(x, torch.tensor(mean, dtype=torch.float32),
                                             torch.tensor(var, dtype=torch.float32),
                                             training=training))


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5, 5)])
def test_batch_norm_running_stats_follow_torch(shape):
    if torch is None:
        pytest.skip("torch is not installed")
    c = shape[1]
    mean, var = distgrad.zeros(c), distgrad.ones(c)
    data, mean_array = mean.array, numpy.zeros(c, dtype=numpy.float32)
    tmean, tvar = torch.zeros(c), torch.ones(c)
    w, b = rand(c, seed=31), rand(c, seed=32)
    for step in range(3):
        x = rand(*shape, seed=33 + step, low=-2, high=3)
        for training in (True, False):
            y = ops.batch_norm(distgrad.tensor(x), mean, var, distgrad.tensor(w),
                               distgrad.tensor(b), training=training, momentum=0.2)
            if training:
                ops.batch_norm(distgrad.tensor(x), mean_array, None, training=True, momentum=0.2)
            ty = F.batch_norm(torch.tensor(x, dtype=torch.float32), tmean, tvar,
                              torch.tensor(w, dtype=torch.float32),
                              torch.tensor(b, dtype=torch.float32), training=training,
                              momentum=0.2)
            numpy.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-4, atol=1e-5)
        numpy.testing.assert_allclose(mean.detach().numpy(), tmean.detach().numpy(), rtol=1e-5, atol=1e-6)
        numpy.testing.assert_allclose(var.detach().numpy(), tvar.detach().numpy(), rtol=1e-5, atol=1e-6)
        numpy.testing.assert_allclose(mean_array, tmean.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert mean.array is data  # updated in place, so module buffers stay the same arrays


def test_batch_norm_bad_inputs_name_the_values():
    x = distgrad.zeros(4, 3)
    with pytest.raises(ValueError, match=r"input of shape \(4, 3\) with 3 channels but "
                                         r"running_mean of shape \(2,\): expected \(3,\)"):
        ops.batch_norm(x, distgrad.zeros(2), distgrad.ones(3), training=True)
    with pytest.raises(ValueError, match=r"weight of shape \(4,\): expected \(3,\)"):
        ops.batch_norm(x, None, None, distgrad.ones(4), training=True)
    with pytest.raises(ValueError, match=r"more than one value per channel.*shape \(1, 3\)"):
        ops.batch_norm(distgrad.zeros(1, 3), None, None, training=True)
    with pytest.raises(ValueError, match="training=False normalises with running_mean"):
        ops.batch_norm(x, None, None, training=False)
    with pytest.raises(ValueError, match=r"\(N, C\) or \(N, C, H, W\), got shape \(3,\)"):
        ops.batch_norm(distgrad.zeros(3), None, None, training=True)


# --- dropout ------------------------------------------------------------------------------

@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_statistics(p):
    distgrad.manual_seed(0)
    x = distgrad.ones(200, 500, requires_grad=True)
    y = ops.dropout(x, p)
    zeroed = (y.detach().numpy() == 0).mean()
    assert abs(zeroed - p) < 0.01
    assert abs(y.detach().numpy().mean() - 1.0) < 0.02
    numpy.testing.assert_allclose(numpy.unique(y.detach().numpy()), [0.0, 1 / (1 - p)], rtol=1e-6)
    y.backward(numpy.full(y.shape, 2.0, dtype=numpy.float32))
    numpy.testing.assert_allclose(x.grad, 2 * y.detach().numpy())


def test_dropout_is_reproducible_under_manual_seed():
    x = distgrad.ones(50, 40)
    distgrad.manual_seed(7)
    a, b = ops.dropout(x).detach().numpy(), ops.dropout(x).detach().numpy()
    distgrad.manual_seed(7)
    numpy.testing.assert_array_equal(ops.dropout(x).detach().numpy(), a)
    assert not numpy.array_equal(a, b)


def test_dropout_edge_cases():
    x = distgrad.tensor(rand(4, 5, seed=34), requires_grad=True)
    assert ops.dropout(x, 0.0) is x
    assert ops.dropout(x, 0.7, training=False) is x
    y = ops.dropout(x, 1.0)
    assert (y.detach().numpy() == 0).all() and y.dtype == x.dtype
    y.sum().backward()
    assert (x.grad.detach().numpy() == 0).all()
    for p in (-0.1, 1.5, "0.5"):
        with pytest.raises(ValueError, match=rf"between 0 and 1, but got {p!r}"):
            ops.dropout(x, p)
