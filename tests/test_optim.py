"""Optimisers: 20-step trajectories equal a plain NumPy reference of each rule and PyTorch's,
state_dict round trips, failed loads change nothing, PyTorch's argument errors, per-parameter
state that is a view of one flat buffer, in-place updates."""
import io
import math

import numpy
import pytest

import distgrad
from distgrad import optim

SHAPES = [(5, 4), (4,), (3, 2, 2), ()]
STEPS = 20
TOL = dict(rtol=1e-5, atol=1e-6)


# --- the rules, written plainly per parameter ----------------------------------------------
def sgd_rule(p, g, s, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
             maximize=False):
    g = -g if maximize else g
    if weight_decay:
        g = g + weight_decay * p
    if momentum:
        s["buf"] = g.copy() if "buf" not in s else momentum * s["buf"] + (1 - dampening) * g
        g = g + momentum * s["buf"] if nesterov else s["buf"]
    return p - lr * g


def adam_rule(p, g, s, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
              maximize=False, decoupled=False):
    beta1, beta2 = betas
    g = -g if maximize else g
    t = s["t"] = s.get("t", 0) + 1
    if weight_decay and decoupled:
        p = p * (1 - lr * weight_decay)
    elif weight_decay:
        g = g + weight_decay * p
    m = s["m"] = beta1 * s.get("m", 0) + (1 - beta1) * g
    v = s["v"] = beta2 * s.get("v", 0) + (1 - beta2) * g * g
    if amsgrad:
        v = s["vmax"] = numpy.maximum(s.get("vmax", v), v)
    m_hat = m / (1 - beta1 ** t)
    return p - lr * m_hat / (numpy.sqrt(v) / math.sqrt(1 - beta2 ** t) + eps)


def adamw_rule(p, g, s, weight_decay=1e-2, **options):
    return adam_rule(p, g, s, weight_decay=weight_decay, decoupled=True, **options)


def rmsprop_rule(p, g, s, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, maximize=False):
    g = -g if maximize else g
    if weight_decay:
        g = g + weight_decay * p
    v = s["v"] = alpha * s.get("v", 0) + (1 - alpha) * g * g
    if centered:
        mean = s["mean"] = alpha * s.get("mean", 0) + (1 - alpha) * g
        v = v - mean * mean
    avg = numpy.sqrt(v) + eps
    if momentum:
        s["buf"] = momentum * s.get("buf", 0) + g / avg
        return p - lr * s["buf"]
    return p - lr * g / avg


RULES = {"SGD": sgd_rule, "Adam": adam_rule, "AdamW": adamw_rule, "RMSprop": rmsprop_rule}


class Reference:
    """Plain NumPy optimiser: ``groups`` are dicts of parameter indices and options."""

    def __init__(self, name, values, groups):
        self.rule, self.groups = RULES[name], groups
        self.params = [v.copy() for v in values]
        self.states = [{} for _ in values]

    def step(self, grads):
        for group in self.groups:
            options = {k: v for k, v in group.items() if k != "params"}
            for i in group["params"]:
                if grads[i] is not None:
                    self.params[i] = self.rule(self.params[i], grads[i], self.states[i], **options)


# --- running the same steps three ways ------------------------------------------------------
def problem(seed=0, shapes=SHAPES, dtypes=None, steps=STEPS):
    rng = numpy.random.default_rng(seed)
    dtypes = dtypes or [numpy.float32] * len(shapes)
    values = [numpy.asarray(rng.standard_normal(s), dtype=d) for s, d in zip(shapes, dtypes)]
    grads = [[numpy.asarray(rng.standard_normal(s), dtype=d) for s, d in zip(shapes, dtypes)]
             for _ in range(steps)]
    return values, grads


def groups_of(spec, options, params):
    """Param groups for an optimiser: ``spec`` lists dicts of indices and per-group options."""
    if spec is None:
        spec = [{"params": list(range(len(params)))}]
    return [{**g, "params": [params[i] for i in g["params"]]} for g in spec]


def run_ours(name, options, values, grads, spec=None):
    params = [distgrad.tensor(v.copy(), requires_grad=True) for v in values]
    opt = getattr(optim, name)(groups_of(spec, options, params), **options)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = None if g is None else g.copy()
        opt.step()
    return [p.detach().numpy() for p in params], opt, params


def run_reference(name, options, values, grads, spec=None):
    spec = spec or [{"params": list(range(len(values)))}]
    ref = Reference(name, values, [{**options, **g} for g in spec])
    for step_grads in grads:
        ref.step(step_grads)
    return ref.params


def run_torch(name, options, values, grads, spec=None):
    torch = pytest.importorskip("torch")
    params = [torch.nn.Parameter(torch.from_numpy(v.copy())) for v in values]
    opt = getattr(torch.optim, name)(groups_of(spec, options, params), **options)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = None if g is None else torch.from_numpy(g.copy())
        opt.step()
    return [p.detach().numpy() for p in params]


def assert_params_close(ours, expected, what):
    for i, (a, b) in enumerate(zip(ours, expected)):
        assert a.dtype == b.dtype, f"parameter {i}: dtype {a.dtype} != {b.dtype}"
        numpy.testing.assert_allclose(a, b, **TOL, err_msg=f"parameter {i} differs from {what}")


CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.5, maximize=True)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True, eps=1e-6)),
    ("Adam", dict(lr=0.01, maximize=True)),
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.001, centered=True, weight_decay=0.01)),
    ("RMSprop", dict(lr=0.001, centered=True, momentum=0.5, alpha=0.9)),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in o.items()) or 'default'}" for name, o in CONFIGS]


@pytest.mark.parametrize("name,options", CONFIGS, ids=IDS)
def test_matches_numpy_reference(name, options):
    values, grads = problem()
    ours, _, _ = run_ours(name, options, values, grads)
    assert_params_close(ours, run_reference(name, options, values, grads), "the NumPy reference")
    moved = max(numpy.abs(a - v).max() for a, v in zip(ours, values))
    assert moved > 1e-3, "the parameters hardly moved: the comparison would mean little"


@pytest.mark.parametrize("name,options", CONFIGS, ids=IDS)
def test_matches_torch(name, options):
    values, grads = problem()
    ours, _, _ = run_ours(name, options, values, grads)
    assert_params_close(ours, run_torch(name, options, values, grads), "torch.optim")


# Two groups with their own lr; parameter 1 gains its gradient only at step 5 and parameter 0
# loses it for three steps (so parameters are at different step counts and momentum buffers
# start at different times); parameter 3 never has one.
GROUP_CASES = [("SGD", dict(lr=0.05, momentum=0.9, dampening=0.5)),
               ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
               ("Adam", dict(lr=0.01)), ("Adam", dict(lr=0.01, amsgrad=True)),
               ("AdamW", dict(lr=0.01)), ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True))]


def group_problem():
    values, grads = problem(seed=1)
    for t, step_grads in enumerate(grads):
        if t < 5:
            step_grads[1] = None
        if 10 <= t < 13:
            step_grads[0] = None
        step_grads[3] = None
    spec = [{"params": [0, 1], "lr": 0.1}, {"params": [2, 3]}]
    return values, grads, spec


@pytest.mark.parametrize("name,options", GROUP_CASES, ids=[n for n, _ in GROUP_CASES])
def test_groups_and_parameters_without_gradients(name, options):
    values, grads, spec = group_problem()
    ours, opt, params = run_ours(name, options, values, grads, spec)
    assert_params_close(ours, run_reference(name, options, values, grads, spec), "the NumPy reference")
    numpy.testing.assert_array_equal(ours[3], values[3])
    assert params[3] not in opt.state
    if name != "SGD":
        assert [opt.state[p]["step"] for p in params[:3]] == [STEPS - 3, STEPS - 5, STEPS]


@pytest.mark.parametrize("name,options", GROUP_CASES, ids=[n for n, _ in GROUP_CASES])
def test_groups_and_parameters_without_gradients_match_torch(name, options):
    values, grads, spec = group_problem()
    ours, _, _ = run_ours(name, options, values, grads, spec)
    assert_params_close(ours, run_torch(name, options, values, grads, spec), "torch.optim")


def test_float64_and_float32_parameters_in_one_group_keep_their_dtypes():
    values, grads = problem(dtypes=[numpy.float64, numpy.float32, numpy.float64, numpy.float32])
    ours, opt, params = run_ours("Adam", dict(lr=0.01), values, grads)
    assert_params_close(ours, run_reference("Adam", dict(lr=0.01), values, grads), "the NumPy reference")
    assert [opt.state[p]["exp_avg"].dtype for p in params] == [p.dtype for p in params]


@pytest.mark.parametrize("order", ["in order", "reversed"])
def test_parameters_that_are_views_of_one_buffer_are_updated_in_that_buffer(order):
    values, grads = problem()
    expected, _, _ = run_ours("Adam", dict(lr=0.01, weight_decay=0.1), values, grads)
    layout = values if order == "in order" else values[::-1]
    flat = numpy.concatenate([v.reshape(-1) for v in layout])
    views, start = [], 0
    for v in layout:
        views.append(flat[start:start + v.size].reshape(v.shape))
        start += v.size
    views = views if order == "in order" else views[::-1]
    params = [distgrad.Tensor(view, requires_grad=True) for view in views]
    opt = optim.Adam(params, lr=0.01, weight_decay=0.1)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = g.copy()
        opt.step()
    for p, e in zip(params, expected):
        assert numpy.shares_memory(p.array, flat)
        numpy.testing.assert_array_equal(p.data, e)


# --- the step's contract --------------------------------------------------------------------
@pytest.mark.parametrize("name,options", [("SGD", dict(momentum=0.9, nesterov=True, weight_decay=0.1)),
                                          ("Adam", dict(weight_decay=0.1, maximize=True)),
                                          ("RMSprop", dict(centered=True, weight_decay=0.1))])
def test_step_updates_in_place_and_leaves_gradients_alone(name, options):
    values, grads = problem(steps=3)
    params = [distgrad.tensor(v.copy(), requires_grad=True) for v in values]
    arrays = [p.array for p in params]
    opt = getattr(optim, name)(params, lr=0.1, **options)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = g.copy()
        opt.step()
        for p, a, g in zip(params, arrays, step_grads):
            assert p.array is a
            numpy.testing.assert_array_equal(p.grad, g)
    assert not any(numpy.array_equal(p.data, v) for p, v in zip(params, values))


def test_step_runs_without_recording_and_returns_the_closure_loss():
    p = distgrad.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.5)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with distgrad.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 5.0
    numpy.testing.assert_allclose(p.data, [0.0, 0.0])
    assert p.grad_fn is None and p.is_leaf


def test_changing_group_lr_takes_effect_at_the_next_step():
    p = distgrad.tensor([1.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    p.grad = numpy.array([1.0], numpy.float32)
    opt.step()
    opt.param_groups[0]["lr"] = 0.01
    opt.step()
    numpy.testing.assert_allclose(p.data, [1.0 - 0.1 - 0.01], rtol=1e-6)


def test_zero_grad_drops_or_zeroes_in_place():
    p, q = (distgrad.tensor([1.0, 2.0], requires_grad=True) for _ in range(2))
    opt = optim.SGD([p, q], lr=0.1)
    p.grad = numpy.ones(2, numpy.float32)
    grad = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is grad and not grad.array.any() and q.grad is None
    opt.zero_grad()
    assert p.grad is None and q.grad is None


def test_add_param_group_brings_its_own_options():
    p, q = (distgrad.tensor([1.0], requires_grad=True) for _ in range(2))
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": q, "lr": 1.0})
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["lr"] == 1.0
    p.grad = q.grad = numpy.array([1.0], numpy.float32)
    opt.step()
    numpy.testing.assert_allclose([p.item(), q.item()], [0.9, 0.0], atol=1e-7)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [p]})


# --- per-parameter state is a view of the flat buffer --------------------------------------
def root(array):
    while array.base is not None:
        array = array.base
    return array


def test_state_arrays_have_parameter_shapes_and_share_one_flat_buffer():
    values, grads = problem(steps=1)
    _, opt, params = run_ours("Adam", dict(amsgrad=True), values, grads)
    for kind in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
        views = [opt.state[p][kind] for p in params]
        assert [v.shape for v in views] == [p.shape for p in params]
        flat = root(views[0])
        assert flat.size == sum(v.size for v in values)
        assert all(root(v) is flat for v in views)
        assert all(numpy.shares_memory(v, flat) for v in views)
    assert root(opt.state[params[0]]["exp_avg"]) is not root(opt.state[params[0]]["exp_avg_sq"])


@pytest.mark.parametrize("how", ["in place", "by assignment"])
def test_edits_of_state_arrays_are_used_by_the_next_step(how):
    values, grads = problem(steps=4)
    ours, opt, params = run_ours("Adam", dict(lr=0.01), values, grads[:3])
    ref = Reference("Adam", values, [{"params": [0, 1, 2, 3], "lr": 0.01}])
    for step_grads in grads[:3]:
        ref.step(step_grads)
    if how == "in place":
        opt.state[params[0]]["exp_avg"][...] = 0
    else:
        opt.state[params[0]]["exp_avg"] = numpy.zeros(params[0].shape, numpy.float32)
    ref.states[0]["m"] = numpy.zeros(params[0].shape, numpy.float32)
    for p, g in zip(params, grads[3]):
        p.grad = g
    opt.step()
    ref.step(grads[3])
    assert_params_close([p.detach().numpy() for p in params], ref.params, "the NumPy reference")
    assert root(opt.state[params[0]]["exp_avg"]) is root(opt.state[params[1]]["exp_avg"])


# --- state_dict -----------------------------------------------------------------------------
ROUND_TRIP = [("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
              ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.01)),
              ("AdamW", dict(lr=0.01)),
              ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5))]


@pytest.mark.parametrize("name,options", ROUND_TRIP, ids=[n for n, _ in ROUND_TRIP])
def test_state_dict_round_trip_continues_exactly(name, options):
    values, grads = problem(steps=12)
    spec = [{"params": [0, 1]}, {"params": [2, 3], "lr": 0.001}]
    expected, _, _ = run_ours(name, options, values, grads, spec)
    half, opt, _ = run_ours(name, options, values, grads[:5], spec)
    saved = io.BytesIO()
    numpy.save(saved, opt.state_dict(), allow_pickle=True)
    saved.seek(0)
    state_dict = numpy.load(saved, allow_pickle=True).item()
    params = [distgrad.tensor(v, requires_grad=True) for v in half]
    fresh = getattr(optim, name)(groups_of([{"params": [0, 1]}, {"params": [2, 3]}], {}, params), lr=0.5)
    fresh.load_state_dict(state_dict)
    assert fresh.param_groups[1]["lr"] == 0.001 and fresh.param_groups[0]["params"] == params[:2]
    for step_grads in grads[5:]:
        for p, g in zip(params, step_grads):
            p.grad = g.copy()
        fresh.step()
    for p, e in zip(params, expected):
        numpy.testing.assert_array_equal(p.data, e)


def test_state_dict_has_pytorchs_structure_with_numpy_copies():
    values, grads = problem(steps=3)
    spec = [{"params": [0, 1], "lr": 0.1}, {"params": [2, 3]}]
    _, opt, params = run_ours("Adam", {}, values, grads, spec)
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2, 3]]
    assert sd["param_groups"][0]["lr"] == 0.1 and sd["param_groups"][1]["betas"] == (0.9, 0.999)
    assert sorted(sd["state"]) == [0, 1, 2, 3]
    entry = sd["state"][2]
    assert entry["step"] == 3 and set(entry) == {"step", "exp_avg", "exp_avg_sq"}
    assert type(entry["exp_avg"]) is numpy.ndarray and entry["exp_avg"].shape == (3, 2, 2)
    assert not numpy.shares_memory(entry["exp_avg"], opt.state[params[2]]["exp_avg"])
    entry["exp_avg"][...] = 7
    assert not (opt.state[params[2]]["exp_avg"] == 7).any()


def test_load_casts_state_to_each_parameters_dtype():
    values, grads = problem(steps=2)
    _, opt, _ = run_ours("Adam", {}, values, grads)
    params64 = [distgrad.tensor(v.astype(numpy.float64), requires_grad=True) for v in values]
    opt64 = optim.Adam(params64)
    opt64.load_state_dict(opt.state_dict())
    assert all(opt64.state[p]["exp_avg"].dtype == numpy.float64 for p in params64)


def _bad_state_dicts(sd):
    def extra_group(d):
        d["param_groups"].append({**d["param_groups"][0], "params": []})

    def short_group(d):
        d["param_groups"][0]["params"] = d["param_groups"][0]["params"][:-1]

    def wrong_shape(d):
        d["state"][1]["exp_avg"] = numpy.zeros((5,), numpy.float32)

    def unknown_index(d):
        d["state"][9] = d["state"][0]
    return [(extra_group, "2 parameter groups but the optimizer has 1"),
            (short_group, "group 0 of the loaded state dict has 3 parameters"),
            (wrong_shape, r"'exp_avg' of parameter 1 has shape \(5,\) but the parameter has shape \(4,\)"),
            (unknown_index, "state for parameter 9")]


@pytest.mark.parametrize("case", range(4))
def test_mismatched_state_dict_raises_and_changes_nothing(case):
    values, grads = problem(steps=3)
    _, opt, params = run_ours("Adam", dict(lr=0.01), values, grads)
    before = opt.state_dict()
    views = [opt.state[p]["exp_avg"] for p in params]
    bad = opt.state_dict()
    bad["param_groups"][0]["lr"] = 0.5
    for entry in bad["state"].values():
        entry["exp_avg"] = entry["exp_avg"] + 1
    mutate, message = _bad_state_dicts(bad)[case]
    mutate(bad)
    with pytest.raises(ValueError, match=message):
        opt.load_state_dict(bad)
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    for i, p in enumerate(params):
        assert opt.state[p]["exp_avg"] is views[i]
        for k, v in before["state"][i].items():
            numpy.testing.assert_array_equal(after["state"][i][k], v)


# --- argument errors ------------------------------------------------------------------------
BAD_ARGUMENTS = [
    ("SGD", dict(lr=-1), "Invalid learning rate: -1"),
    ("SGD", dict(momentum=-0.5), "Invalid momentum value: -0.5"),
    ("SGD", dict(weight_decay=-1e-4), "Invalid weight_decay value: -0.0001"),
    ("SGD", dict(nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
    ("SGD", dict(nesterov=True, momentum=0.9, dampening=0.1), "Nesterov momentum requires"),
    ("Adam", dict(lr=-0.1), "Invalid learning rate: -0.1"),
    ("Adam", dict(betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    ("Adam", dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    ("Adam", dict(eps=-1e-8), "Invalid epsilon value: -1e-08"),
    ("AdamW", dict(weight_decay=-1), "Invalid weight_decay value: -1"),
    ("RMSprop", dict(alpha=-0.1), "Invalid alpha value: -0.1"),
    ("RMSprop", dict(momentum=-1), "Invalid momentum value: -1"),
    ("RMSprop", dict(eps=-1), "Invalid epsilon value: -1"),
]


@pytest.mark.parametrize("name,options,message", BAD_ARGUMENTS)
def test_bad_arguments_raise_pytorchs_errors(name, options, message):
    p = distgrad.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        getattr(optim, name)([p], **options)


def test_bad_parameter_lists_raise():
    p = distgrad.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(TypeError, match="iterable of Tensors"):
        optim.Adam(p)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.Adam([{"params": {p}}])
    with pytest.raises(TypeError, match="can only optimize Tensors, but one of the params is ndarray"):
        optim.Adam([p.array])
    with pytest.raises(ValueError, match="non-leaf"):
        optim.Adam([p * 2])
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.Adam([{"params": [p]}, {"params": [p]}])
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        optim.Adam([{"params": [p], "lr": -1}])


def test_gradient_of_the_wrong_shape_is_reported():
    p = distgrad.tensor([[1.0, 2.0]], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"different size: grad shape \(2,\), tensor shape \(1, 2\)"):
        p.grad = numpy.ones(2, numpy.float32)
    p.grad = numpy.ones((1, 2), numpy.float32)
    p.grad.array = numpy.ones(2, numpy.float32)  # reshaped behind the setter's back
    with pytest.raises(RuntimeError, match=r"shape \(1, 2\) has a gradient of shape \(2,\)"):
        optim.Adam([p]).step()


def test_defaults_are_pytorchs():
    p = distgrad.tensor([1.0], requires_grad=True)
    assert optim.SGD([p]).defaults["lr"] == 1e-3
    assert optim.Adam([p]).defaults == dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                                            amsgrad=False, maximize=False)
    assert optim.AdamW([p]).defaults["weight_decay"] == 1e-2
    assert {k: optim.RMSprop([p]).defaults[k] for k in ("lr", "alpha", "eps")} == \
        dict(lr=1e-2, alpha=0.99, eps=1e-8)
