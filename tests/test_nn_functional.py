"""The functional ops behind nn's newer layers — activations, erf, layer/group norm, embedding,
pad, normalize, channel dropout, softmax's implicit dim — against finite differences and
PyTorch."""
import math
import warnings

import numpy
import pytest

import distgrad
from distgrad import ops
from distgrad.nn import functional as F
from distgrad.ops.special import erf_array, erfc_array, erfinv_array
from op_check import check_op, compare_with_torch, rand, torch

TF = None if torch is None else torch.nn.functional


def spread(*shape, seed=0):
    """Values in (-4, 4) kept away from 0 by 0.05, so a finite-difference step never crosses a
    kink of relu-like functions."""
    x = rand(*shape, seed=seed, low=-4, high=4)
    return numpy.where(numpy.abs(x) < 0.05, 0.05 + x, x)


# --- erf ----------------------------------------------------------------------------------

def test_erf_matches_math_to_float64_accuracy():
    x = numpy.concatenate([numpy.linspace(-7, 7, 2801), [0.0, 1e-300, -1e-8, 2.5, -2.5, 30]])
    ref = numpy.array([math.erf(v) for v in x])
    refc = numpy.array([math.erfc(v) for v in x])
    numpy.testing.assert_allclose(erf_array(x), ref, rtol=2e-15, atol=1e-300)
    numpy.testing.assert_allclose(erfc_array(x), refc, rtol=2e-12, atol=1e-300)
    assert erf_array(x.astype(numpy.float32)).dtype == numpy.float32


def test_erfinv_inverts_erf():
    y = numpy.linspace(-0.999999, 0.999999, 2001)
    numpy.testing.assert_allclose(erf_array(erfinv_array(y)), y, atol=1e-15)
    assert numpy.isposinf(erfinv_array(numpy.array([1.0]))[0])
    if torch is not None:
        # Near ±1 erfinv is ill-conditioned: an ulp of y moves x by ~1e-11.
        numpy.testing.assert_allclose(erfinv_array(y), torch.erfinv(torch.tensor(y)).numpy(),
                                      rtol=1e-10)


def test_erf_op():
    check_op(ops.erf, rand(4, 5, low=-3, high=3), torch_fn=torch and torch.erf)
    check_op(ops.erfc, rand(4, 5, low=-3, high=3), torch_fn=torch and torch.erfc)


# --- activations --------------------------------------------------------------------------

ACTIVATIONS = [
    ("leaky_relu", lambda x: ops.leaky_relu(x, 0.1), lambda x: TF.leaky_relu(x, 0.1)),
    ("leaky_relu_default", ops.leaky_relu, lambda x: TF.leaky_relu(x)),
    ("elu", lambda x: ops.elu(x, 1.5), lambda x: TF.elu(x, 1.5)),
    ("gelu", ops.gelu, lambda x: TF.gelu(x)),
    ("gelu_tanh", lambda x: ops.gelu(x, approximate="tanh"),
     lambda x: TF.gelu(x, approximate="tanh")),
    ("silu", ops.silu, lambda x: TF.silu(x)),
    ("softplus", ops.softplus, lambda x: TF.softplus(x)),
    ("softplus_beta", lambda x: ops.softplus(x, beta=2.0, threshold=3.0),
     lambda x: TF.softplus(x, beta=2.0, threshold=3.0)),
    ("hardtanh", lambda x: ops.hardtanh(x, -2.0, 1.5), lambda x: TF.hardtanh(x, -2.0, 1.5)),
    ("relu6", ops.relu6, lambda x: TF.relu6(x)),
    ("logsigmoid", ops.logsigmoid, lambda x: TF.logsigmoid(x)),
]


@pytest.mark.parametrize("name,fn,torch_fn", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation(name, fn, torch_fn):
    check_op(fn, spread(3, 7, seed=1), torch_fn=torch_fn if torch else None)


@pytest.mark.parametrize("name,fn,torch_fn", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_at_extremes_and_kinks(name, fn, torch_fn):
    x = numpy.array([-1e4, -60.0, -20.0, -6.0, -2.0, -1.0, 0.0, 1.0, 1.5, 6.0, 20.0, 60.0, 1e4])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings from the large values
        out = fn(distgrad.tensor(x.astype(numpy.float32))).numpy()
    assert numpy.isfinite(out).all()
    compare_with_torch(fn, torch_fn, x, rtol=1e-6, atol=1e-6)


def test_gelu_is_accurate_in_float64():
    x = numpy.linspace(-10, 10, 401)
    ref = numpy.array([v * 0.5 * math.erfc(-v / math.sqrt(2)) for v in x])
    numpy.testing.assert_allclose(ops.gelu(distgrad.tensor(x)).numpy(), ref, rtol=2e-12,
                                  atol=1e-300)


@pytest.mark.parametrize("shape,slopes", [((4, 3, 5), 3), ((4, 3, 5), 1), ((6,), 1),
                                          ((2, 3, 2, 2), 3)])
def test_prelu(shape, slopes):
    w = rand(slopes, seed=3, low=0.1, high=0.5)
    check_op(ops.prelu, spread(*shape, seed=2), w, torch_fn=torch and TF.prelu)


def test_activation_argument_errors():
    with pytest.raises(ValueError, match="approximate='exact'"):
        ops.gelu(distgrad.ones(2), approximate="exact")
    with pytest.raises(ValueError, match=r"weight of shape \(2,\) for input of shape \(4, 3\)"):
        ops.prelu(distgrad.ones(4, 3), distgrad.ones(2))


# --- normalisation ------------------------------------------------------------------------

@pytest.mark.parametrize("shape,normalized", [((4, 6), (6,)), ((2, 3, 4, 5), (4, 5)),
                                              ((3, 8), (3, 8))])
def test_layer_norm(shape, normalized):
    x, w, b = rand(*shape, seed=4), rand(*normalized, seed=5), rand(*normalized, seed=6)
    check_op(lambda x, w, b: ops.layer_norm(x, normalized, w, b), x, w, b,
             torch_fn=torch and (lambda x, w, b: TF.layer_norm(x, normalized, w, b)))
    check_op(lambda x: ops.layer_norm(x, normalized, eps=1e-3), x,
             torch_fn=torch and (lambda x: TF.layer_norm(x, normalized, eps=1e-3)))


@pytest.mark.parametrize("shape,groups", [((4, 6, 5), 3), ((2, 4, 3, 3), 2), ((3, 4), 2),
                                          ((2, 6, 2, 2), 1)])
def test_group_norm(shape, groups):
    c = shape[1]
    x, w, b = rand(*shape, seed=7), rand(c, seed=8), rand(c, seed=9)
    check_op(lambda x, w, b: ops.group_norm(x, groups, w, b), x, w, b,
             torch_fn=torch and (lambda x, w, b: TF.group_norm(x, groups, w, b)))
    check_op(lambda x: ops.group_norm(x, groups), x,
             torch_fn=torch and (lambda x: TF.group_norm(x, groups)))


def test_norm_errors_name_the_values():
    with pytest.raises(ValueError, match=r"input of shape \(4, 6\) with normalized_shape=\(5,\)"):
        ops.layer_norm(distgrad.ones(4, 6), 5)
    with pytest.raises(ValueError, match="num_groups=4 for 6 channels"):
        ops.group_norm(distgrad.ones(2, 6, 3), 4)


# --- embedding and one_hot ----------------------------------------------------------------

def test_embedding():
    weight, idx = rand(6, 4, seed=10), numpy.array([[0, 2, 5], [2, 2, 1]])
    check_op(lambda w, i: ops.embedding(i, w), weight, idx,
             torch_fn=torch and (lambda w, i: TF.embedding(i, w)))


@pytest.mark.parametrize("padding_idx,scale", [(2, False), (-1, True), (None, True)])
def test_embedding_gradient_options(padding_idx, scale):
    # Deliberately not the true derivative (the padding row gets none, repeated rows are
    # averaged), so PyTorch is the only reference.
    weight, idx = rand(6, 4, seed=10), numpy.array([[0, 2, 5], [2, 2, 1]])
    compare_with_torch(
        lambda w, i: ops.embedding(i, w, padding_idx=padding_idx, scale_grad_by_freq=scale),
        TF and (lambda w, i: TF.embedding(i, w, padding_idx=padding_idx,
                                          scale_grad_by_freq=scale)), weight, idx)


def test_embedding_max_norm_renormalises_the_rows_read():
    weight = rand(5, 3, seed=11, low=-3, high=3)
    idx = numpy.array([1, 3, 3])
    ours = distgrad.tensor(weight.astype(numpy.float32))
    out = ops.embedding(distgrad.tensor(idx), ours, max_norm=1.0)
    if torch is not None:
        theirs = torch.tensor(weight.astype(numpy.float32))
        ref = TF.embedding(torch.tensor(idx), theirs, max_norm=1.0)
        numpy.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-6)
        numpy.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    assert numpy.linalg.norm(ours.numpy()[[1, 3]], axis=1).max() <= 1.0 + 1e-6
    numpy.testing.assert_array_equal(ours.numpy()[[0, 2, 4]], weight.astype(numpy.float32)[[0, 2, 4]])


def test_embedding_index_errors():
    with pytest.raises(IndexError, match="index 6, out of range for a weight of 6 rows"):
        ops.embedding(distgrad.tensor([0, 6]), distgrad.ones(6, 2))
    with pytest.raises(TypeError, match="integer indices"):
        ops.embedding(distgrad.tensor([0.0]), distgrad.ones(6, 2))


def test_one_hot():
    idx = numpy.array([[0, 3], [1, 1]])
    out = ops.one_hot(distgrad.tensor(idx))
    assert out.dtype == numpy.int64 and out.shape == (2, 2, 4)
    assert ops.one_hot(distgrad.tensor(idx), 6).shape == (2, 2, 6)
    if torch is not None:
        numpy.testing.assert_array_equal(out.numpy(), TF.one_hot(torch.tensor(idx)).numpy())
    with pytest.raises(ValueError, match=r"class values in \[0, 3\] for num_classes=3"):
        ops.one_hot(distgrad.tensor(idx), 3)


# --- pad ------------------------------------------------------------------------------------

PADS = [((2, 3, 4), (1, 2), "constant"), ((2, 3, 4, 5), (1, 0, 2, 1), "constant"),
        ((2, 3, 4, 5), (-1, 2, 0, -2), "constant"), ((2, 3, 6), (2, 3), "reflect"),
        ((1, 2, 4, 5), (1, 2, 3, 1), "reflect"), ((2, 3, 4), (3, 1), "replicate"),
        ((1, 2, 3, 4), (2, 2, 1, 3), "replicate"), ((2, 3, 5), (2, 4), "circular"),
        ((1, 2, 3, 4), (1, 3, 2, 1), "circular")]


@pytest.mark.parametrize("shape,pad,mode", PADS)
def test_pad(shape, pad, mode):
    check_op(lambda x: F.pad(x, pad, mode=mode), rand(*shape, seed=12),
             torch_fn=torch and (lambda x: TF.pad(x, pad, mode=mode)))


def test_pad_constant_value():
    check_op(lambda x: F.pad(x, (1, 1, 2, 0), value=3.5), rand(2, 3, 4, seed=13),
             torch_fn=torch and (lambda x: TF.pad(x, (1, 1, 2, 0), value=3.5)))


def test_pad_errors():
    with pytest.raises(ValueError, match="even number"):
        F.pad(distgrad.ones(2, 3), (1, 2, 3))
    with pytest.raises(ValueError, match="mode='wrap'"):
        F.pad(distgrad.ones(2, 3), (1, 1), mode="wrap")
    with pytest.raises(ValueError, match="padding must be smaller"):
        F.pad(distgrad.ones(2, 3), (3, 0), mode="reflect")


# --- normalize ------------------------------------------------------------------------------

@pytest.mark.parametrize("p,dim", [(2.0, 1), (1.0, 0), (3.0, -1), (math.inf, 1)])
def test_normalize(p, dim):
    x = distinct = rand(4, 5, seed=14)
    check_op(lambda x: F.normalize(x, p=p, dim=dim), distinct,
             torch_fn=torch and (lambda x: TF.normalize(x, p=p, dim=dim)))
    assert x.shape == (4, 5)


def test_normalize_of_a_zero_vector_has_finite_gradient():
    x = numpy.zeros((2, 3))
    x[1] = [1.0, -2.0, 2.0]
    compare_with_torch(F.normalize, TF and TF.normalize, x)
    t = distgrad.tensor(x, requires_grad=True)
    F.normalize(t).sum().backward()
    assert numpy.isfinite(t.grad.numpy()).all()


# --- channel dropout ------------------------------------------------------------------------

def test_dropout2d_zeroes_whole_channels_and_scales_the_rest():
    distgrad.manual_seed(0)
    x = distgrad.tensor(numpy.ones((8, 16, 3, 3), dtype=numpy.float32), requires_grad=True)
    y = F.dropout2d(x, p=0.25)
    per_channel = y.numpy().reshape(8, 16, 9)
    assert (per_channel == per_channel[..., :1]).all()  # one draw per (sample, channel)
    assert set(numpy.unique(per_channel)) <= {0.0, numpy.float32(1 / 0.75)}
    assert 0.1 < (per_channel[..., 0] == 0).mean() < 0.4
    y.sum().backward()
    numpy.testing.assert_array_equal(x.grad.numpy(), y.numpy())
    assert F.dropout2d(x, training=False) is x


def test_channel_dropout_shapes_and_warnings():
    x = distgrad.ones(2, 4, 5)
    with pytest.warns(UserWarning, match="3-D input"):
        assert F.dropout2d(x, 0.5).shape == (2, 4, 5)
    assert F.dropout1d(distgrad.ones(4, 5), 0.5).shape == (4, 5)
    assert F.dropout3d(distgrad.ones(2, 3, 2, 2, 2), 0.5).shape == (2, 3, 2, 2, 2)
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout2d(distgrad.ones(2, 2, 2, 2), 1.5)


# --- softmax's implicit dim -----------------------------------------------------------------

@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4), (2, 3, 4, 2)])
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_softmax_without_dim_chooses_as_pytorch(shape, name):
    x = rand(*shape, seed=15)
    with pytest.warns(UserWarning, match=f"Implicit dimension choice for {name} has been "
                                         f"deprecated") as record:
        out = getattr(F, name)(distgrad.tensor(x))
    assert record[0].filename == __file__  # the warning points at the caller's line
    if torch is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = getattr(TF, name)(torch.tensor(x))
        numpy.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-12)


def test_softmax_dtype_and_explicit_dim_do_not_warn():
    x = distgrad.tensor(rand(3, 4, seed=16).astype(numpy.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = F.softmax(x, dim=-1, dtype=distgrad.float64)
    assert out.dtype == numpy.float64
    check_op(lambda x: F.softmin(x, dim=0), rand(3, 4, seed=17),
             torch_fn=torch and (lambda x: TF.softmin(x, dim=0)))
