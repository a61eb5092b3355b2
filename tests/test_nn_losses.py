"""Every loss and loss option against finite differences and PyTorch: cross_entropy/nll_loss
with weight, ignore_index, label_smoothing, probability targets and K-dim input; BCE (plain and
with logits), L1, smooth L1, Huber, KL divergence; reductions and the legacy flags."""
import warnings

import numpy
import pytest

import distgrad
from distgrad import nn, ops
from distgrad.nn import functional as F
from op_check import check_op, compare_with_torch, rand, torch

TF = None if torch is None else torch.nn.functional
REDUCTIONS = ["mean", "sum", "none"]


def targets(*shape, classes, seed=0, ignore=()):
    t = numpy.random.default_rng(seed).integers(0, classes, size=shape)
    for i in ignore:
        t.flat[i] = -100
    return t


def both(fn, torch_fn, *arrays, grad=None):
    """check_op with the torch function only when torch is installed."""
    check_op(fn, *arrays, grad=grad, torch_fn=torch_fn if torch is not None else None)


# --- cross_entropy and nll_loss -------------------------------------------------------------

CE_CASES = [  # input shape, target shape
    ((5, 4), (5,)), ((3, 4, 2, 3), (3, 2, 3)), ((4,), ()), ((2, 3, 5), (2, 5))]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("xs,ts", CE_CASES)
@pytest.mark.parametrize("options", [{}, {"weight": True}, {"ignore": True},
                                     {"weight": True, "ignore": True},
                                     {"label_smoothing": 0.2},
                                     {"label_smoothing": 0.1, "weight": True, "ignore": True}])
def test_cross_entropy_with_class_targets(reduction, xs, ts, options):
    c = xs[1] if len(xs) > 1 else xs[0]
    t = targets(*ts, classes=c, seed=1, ignore=(0,) if options.get("ignore") and ts else ())
    w = rand(c, seed=2, low=0.2, high=2.0)
    smoothing = options.get("label_smoothing", 0.0)
    args = (rand(*xs, seed=3, low=-3, high=3), t) + ((w,) if options.get("weight") else ())

    def ours(x, t, w=None):
        return ops.cross_entropy(x, t, weight=w, reduction=reduction, label_smoothing=smoothing)

    def theirs(x, t, w=None):
        return TF.cross_entropy(x, t, weight=w, reduction=reduction, label_smoothing=smoothing)

    both(ours, theirs, *args, grad=[True, False, False][:len(args)])
    both(lambda x, t, w=None: ops.nll_loss(ops.log_softmax(x, 1 if len(xs) > 1 else 0), t,
                                           weight=w, reduction=reduction),
         lambda x, t, w=None: TF.nll_loss(TF.log_softmax(x, 1 if len(xs) > 1 else 0), t,
                                          weight=w, reduction=reduction),
         *args, grad=[True, False, False][:len(args)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("xs", [(5, 4), (2, 3, 4), (4,)])
@pytest.mark.parametrize("smoothing,weighted", [(0.0, False), (0.3, False), (0.0, True),
                                                (0.2, True)])
def test_cross_entropy_with_probability_targets(reduction, xs, smoothing, weighted):
    c = xs[1] if len(xs) > 1 else xs[0]
    p = numpy.random.default_rng(4).dirichlet(numpy.ones(c), size=xs[:1] + xs[2:] if len(xs) > 1
                                              else None)
    p = numpy.moveaxis(p, -1, 1) if len(xs) > 1 else p
    w = rand(c, seed=5, low=0.2, high=2.0)
    args = (rand(*xs, seed=6), p) + ((w,) if weighted else ())
    both(lambda x, p, w=None: ops.cross_entropy(x, p, weight=w, reduction=reduction,
                                                label_smoothing=smoothing),
         lambda x, p, w=None: TF.cross_entropy(x, p, weight=w, reduction=reduction,
                                               label_smoothing=smoothing),
         *args, grad=[True, True, False][:len(args)])


def test_cross_entropy_ignores_the_default_ignore_index_on_the_plain_path():
    x, t = rand(6, 3, seed=7), targets(6, classes=3, seed=8, ignore=(1, 4))
    compare_with_torch(lambda x, t: F.cross_entropy(x, t), TF and (lambda x, t: TF.cross_entropy(x, t)),
                       x, t)
    ours = F.cross_entropy(distgrad.tensor(x), distgrad.tensor(t), ignore_index=-100)
    plain = F.cross_entropy(distgrad.tensor(x[[0, 2, 3, 5]]), distgrad.tensor(t[[0, 2, 3, 5]]))
    numpy.testing.assert_allclose(ours.item(), plain.item(), rtol=1e-6)


def test_cross_entropy_with_every_target_ignored_is_nan_as_pytorch():
    x = distgrad.tensor(rand(3, 4, seed=9))
    assert numpy.isnan(F.cross_entropy(x, distgrad.tensor([-100, -100, -100])).item())


_ZERO_WEIGHT = {"weight": [0.0, 1.0, 2.0, 1.0]}


@pytest.mark.parametrize("options,t", [
    ({}, [-100, -100, -100]), ({"label_smoothing": 0.1}, [-100, -100, -100]),
    (_ZERO_WEIGHT, [-100, -100, -100]), ({**_ZERO_WEIGHT, "label_smoothing": 0.1}, [-100] * 3),
    (_ZERO_WEIGHT, [0, 0, -100]), ({**_ZERO_WEIGHT, "label_smoothing": 0.1}, [0, 0, -100])])
def test_nothing_counted_gives_nan_loss_and_ignored_rows_zero_gradients(options, t):
    # PyTorch: the mean is 0 / 0; ignored rows' gradients are 0, counted rows of weight 0 NaN.
    x = distgrad.tensor(rand(3, 4, seed=9).astype(numpy.float32), requires_grad=True)
    kw = {k: distgrad.tensor(numpy.float32(v)) if k == "weight" else v
          for k, v in options.items()}
    loss = F.cross_entropy(x, distgrad.tensor(t), **kw)
    with numpy.errstate(invalid="ignore"):   # inf * 0 in the weight-0 rows: NaN, as PyTorch
        loss.backward()
    assert numpy.isnan(loss.item())
    g = x.grad.array
    assert (g[2] == 0).all() and (numpy.isnan(g[:2]).all() if t[0] == 0 else (g == 0).all())
    if torch is not None:
        tx = torch.tensor(x.array, requires_grad=True)
        tkw = {k: torch.tensor(numpy.float32(v)) if k == "weight" else v
               for k, v in options.items()}
        TF.cross_entropy(tx, torch.tensor(t), **tkw).backward()
        numpy.testing.assert_array_equal(g, tx.grad.numpy())


def test_plain_call_uses_the_fused_node():
    x = distgrad.tensor(rand(4, 3, seed=10).astype(numpy.float32), requires_grad=True)
    loss = F.cross_entropy(x, distgrad.tensor([0, 2, 1, 1]))
    assert type(loss.grad_fn).__name__ == "CrossEntropy"


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["CrossEntropy", "NLLLoss"])
def test_fused_nodes_mask_unread_device_targets_as_the_general_path(name, reduction):
    # A device's targets are never read back: the fused node masks them where they lie. The
    # same code runs here on NumPy arrays, against the general path (checked against PyTorch).
    from distgrad.ops import loss as fused
    x = rand(6, 4, seed=11).astype(numpy.float32)
    t = numpy.array([0, -100, 3, 1, -100, 2])
    general = F.cross_entropy if name == "CrossEntropy" else F.nll_loss
    a, b = (distgrad.tensor(x, requires_grad=True) for _ in range(2))
    got = getattr(fused, name).apply(a, target=t, reduction=reduction, ignore_index=-100)
    want = general(b, distgrad.tensor(t), reduction=reduction)
    numpy.testing.assert_allclose(got.array, want.array, rtol=1e-6)
    assert got.dtype == numpy.float32
    got.sum().backward()
    want.sum().backward()
    numpy.testing.assert_allclose(a.grad.array, b.grad.array, rtol=1e-6, atol=1e-7)
    # Another target out of range has no class to name: its loss is NaN (no device stall).
    bad = getattr(fused, name).apply(distgrad.tensor(x), target=numpy.array([0, 7, 1, -100, 1, 1]),
                                     reduction="none", ignore_index=-100).array
    assert numpy.isnan(bad[1]) and bad[3] == 0 and numpy.isfinite(bad[[0, 2, 4, 5]]).all()
    with numpy.errstate(invalid="ignore"):
        every = getattr(fused, name).apply(distgrad.tensor(x), target=numpy.full(6, -100),
                                           reduction="mean", ignore_index=-100)
    assert numpy.isnan(every.item())     # 0 / 0, as PyTorch
    every_x = distgrad.tensor(x, requires_grad=True)
    with numpy.errstate(invalid="ignore"):
        getattr(fused, name).apply(every_x, target=numpy.full(6, -100), reduction="mean",
                                   ignore_index=-100).backward()
    assert (every_x.grad.array == 0).all()   # PyTorch's gradient under its NaN


def test_class_loss_errors_name_the_values():
    x = distgrad.zeros(3, 4)
    with pytest.raises(ValueError, match=r"weight of shape \(3,\) for 4 classes"):
        F.cross_entropy(x, distgrad.tensor([0, 1, 2]), weight=distgrad.ones(3))
    with pytest.raises(ValueError, match="label_smoothing=1.5"):
        F.cross_entropy(x, distgrad.tensor([0, 1, 2]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="got target 7, out of range for 4 classes"):
        F.nll_loss(x, distgrad.tensor([0, 7, 2]), weight=distgrad.ones(4))


# --- binary cross-entropy -------------------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_shape", [None, (4, 3), (3,)])
def test_binary_cross_entropy(reduction, weight_shape):
    x = rand(4, 3, seed=11, low=0.05, high=0.95)
    t = rand(4, 3, seed=12, low=0.0, high=1.0)
    args = (x, t) + ((rand(*weight_shape, seed=13, low=0.5, high=2),) if weight_shape else ())
    both(lambda x, t, w=None: F.binary_cross_entropy(x, t, weight=w, reduction=reduction),
         lambda x, t, w=None: TF.binary_cross_entropy(x, t, weight=w, reduction=reduction),
         *args, grad=[True, True, False][:len(args)])


def test_binary_cross_entropy_at_exact_zero_and_one():
    x = numpy.array([0.0, 1.0, 0.0, 1.0, 0.5])
    t = numpy.array([0.0, 1.0, 1.0, 0.0, 1.0])
    compare_with_torch(lambda x, t: F.binary_cross_entropy(x, t, reduction="none"),
                       TF and (lambda x, t: TF.binary_cross_entropy(x, t, reduction="none")),
                       x, t, grad=[True, False])
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(distgrad.tensor([1.5]), distgrad.tensor([1.0]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted,pos_weighted", [(False, False), (True, False), (False, True),
                                                   (True, True)])
def test_binary_cross_entropy_with_logits(reduction, weighted, pos_weighted):
    x, t = rand(4, 3, seed=14, low=-4, high=4), rand(4, 3, seed=15, low=0.0, high=1.0)
    w = rand(4, 1, seed=16, low=0.5, high=2) if weighted else None
    pw = rand(3, seed=17, low=0.5, high=3) if pos_weighted else None

    def ours(x, t):
        return F.binary_cross_entropy_with_logits(
            x, t, weight=None if w is None else distgrad.tensor(w), reduction=reduction,
            pos_weight=None if pw is None else distgrad.tensor(pw))

    def theirs(x, t):
        return TF.binary_cross_entropy_with_logits(
            x, t, weight=None if w is None else torch.tensor(w), reduction=reduction,
            pos_weight=None if pw is None else torch.tensor(pw))

    both(ours, theirs, x, t)


def test_binary_cross_entropy_with_logits_is_stable_for_huge_logits():
    x = numpy.array([-1e4, -100.0, 0.0, 100.0, 1e4])
    t = numpy.array([1.0, 0.0, 0.5, 1.0, 0.0])
    compare_with_torch(lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction="none"),
                       TF and (lambda x, t: TF.binary_cross_entropy_with_logits(
                           x, t, reduction="none")), x, t)


# --- regression losses ----------------------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,kwargs", [("l1_loss", {}), ("smooth_l1_loss", {}),
                                         ("smooth_l1_loss", {"beta": 0.3}),
                                         ("smooth_l1_loss", {"beta": 0.0}),
                                         ("huber_loss", {}), ("huber_loss", {"delta": 0.4})])
def test_regression_losses(reduction, name, kwargs):
    x, t = rand(4, 5, seed=18, low=-2, high=2), rand(4, 5, seed=19, low=-2, high=2)
    both(lambda x, t: getattr(F, name)(x, t, reduction=reduction, **kwargs),
         lambda x, t: getattr(TF, name)(x, t, reduction=reduction, **kwargs), x, t)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["l1_loss", "mse_loss", "huber_loss"])
def test_elementwise_weights(reduction, name):
    x, t = rand(3, 4, seed=20), rand(3, 4, seed=21)
    w = rand(3, 4, seed=22, low=0.1, high=2)
    both(lambda x, t, w: getattr(F, name)(x, t, reduction=reduction, weight=w),
         lambda x, t, w: getattr(TF, name)(x, t, reduction=reduction, weight=w),
         x, t, w, grad=[True, True, False])


def test_regression_broadcast_warns_as_pytorch():
    with pytest.warns(UserWarning, match="different to the input size"):
        F.l1_loss(distgrad.ones(3, 1), distgrad.ones(3))


# --- KL divergence --------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none", "mean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    rng = numpy.random.default_rng(23)
    logp = numpy.log(rng.dirichlet(numpy.ones(5), size=4))
    q = rng.dirichlet(numpy.ones(5), size=4)
    q[0, 1] = 0.0  # 0 log 0 counts as 0
    target = numpy.log(q + 1e-3) if log_target else q
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        both(lambda x, t: F.kl_div(x, t, reduction=reduction, log_target=log_target),
             lambda x, t: TF.kl_div(x, t, reduction=reduction, log_target=log_target),
             logp, target, grad=[True, log_target])


def test_kl_div_mean_warns():
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        F.kl_div(distgrad.zeros(2, 3), distgrad.ones(2, 3) / 3)


# --- reductions and legacy flags ------------------------------------------------------------

@pytest.mark.parametrize("size_average,reduce,expected", [
    (None, False, "none"), (False, None, "sum"), (True, True, "mean"), (False, False, "none")])
def test_legacy_flags_choose_the_reduction_with_pytorchs_warning(size_average, reduce, expected):
    x, t = rand(3, 4, seed=24), targets(3, classes=4, seed=25)
    with pytest.warns(UserWarning, match=f"please use reduction='{expected}' instead"):
        ours = F.cross_entropy(distgrad.tensor(x), distgrad.tensor(t), size_average=size_average,
                               reduce=reduce)
    numpy.testing.assert_allclose(
        ours.detach().numpy(), F.cross_entropy(distgrad.tensor(x), distgrad.tensor(t),
                                      reduction=expected).detach().numpy())
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        module = nn.L1Loss(size_average=size_average, reduce=reduce)
    assert module.reduction == expected


def test_unknown_reduction_is_an_error():
    with pytest.raises(ValueError, match="reduction='avg'"):
        F.l1_loss(distgrad.ones(2), distgrad.ones(2), reduction="avg")
    with pytest.raises(ValueError, match="reduction='batchmean'"):
        nn.MSELoss(reduction="batchmean")


# --- loss modules ---------------------------------------------------------------------------

MODULES = [
    ("CrossEntropyLoss", {"label_smoothing": 0.1}, "classes"),
    ("CrossEntropyLoss", {"weight": "w", "ignore_index": 1}, "classes"),
    ("NLLLoss", {"weight": "w"}, "classes"),
    ("BCELoss", {}, "probabilities"),
    ("BCEWithLogitsLoss", {"pos_weight": "w"}, "probabilities"),
    ("KLDivLoss", {"reduction": "batchmean"}, "probabilities"),
    ("L1Loss", {"reduction": "sum"}, "values"),
    ("SmoothL1Loss", {"beta": 0.5}, "values"),
    ("HuberLoss", {"delta": 0.5}, "values"),
    ("MSELoss", {}, "values"),
]


@pytest.mark.parametrize("name,kwargs,kind", MODULES, ids=[m[0] for m in MODULES])
def test_loss_modules_match_torch(name, kwargs, kind):
    torch_ = pytest.importorskip("torch")
    x = rand(5, 4, seed=26, low=0.05 if name == "BCELoss" else -2,
             high=0.95 if name == "BCELoss" else 2).astype(numpy.float32)
    if kind == "classes":
        t = targets(5, classes=4, seed=27)
    else:
        t = rand(5, 4, seed=28, low=0 if kind == "probabilities" else -2, high=1).astype(
            numpy.float32)
    w = rand(4, seed=29, low=0.5, high=2).astype(numpy.float32)
    ours_kw = {k: distgrad.tensor(w) if v == "w" else v for k, v in kwargs.items()}
    theirs_kw = {k: torch_.tensor(w) if v == "w" else v for k, v in kwargs.items()}
    ours = getattr(nn, name)(**ours_kw)
    theirs = getattr(torch_.nn, name)(**theirs_kw)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    xo, xt = distgrad.tensor(x, requires_grad=True), torch_.tensor(x, requires_grad=True)
    lo, lt = ours(xo, distgrad.tensor(t)), theirs(xt, torch_.tensor(t))
    numpy.testing.assert_allclose(lo.detach().numpy(), lt.detach().numpy(), rtol=1e-5, atol=1e-6)
    lo.backward()
    lt.backward()
    numpy.testing.assert_allclose(xo.grad.detach().numpy(), xt.grad.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
def test_an_ignore_index_that_names_a_class_is_ignored(loss):
    logits = numpy.random.default_rng(0).standard_normal((5, 4)).astype(numpy.float32)
    target = numpy.array([1, 0, 3, 1, 2])
    ours = getattr(distgrad.nn.functional, loss)(distgrad.tensor(logits), distgrad.tensor(target),
                                                 ignore_index=1)
    keep = target != 1
    rows = logits[keep] - (numpy.log(numpy.exp(logits[keep]).sum(1, keepdims=True))
                           if loss == "cross_entropy" else 0)
    expected = -rows[numpy.arange(keep.sum()), target[keep]].mean()
    assert ours.item() == pytest.approx(float(expected), rel=1e-5)
