"""Adadelta, Adagrad, Adamax, NAdam, RAdam: 20-step trajectories equal torch.optim's (several
option sets, two param groups, parameters that gain or lose gradients), state_dict round trips
mid-run continue the same trajectory, scalar state (step, mu_product) is kept, and bad
arguments raise PyTorch's errors."""
import numpy
import pytest

import distgrad
from distgrad import optim

SHAPES = [(5, 4), (4,), (3, 2, 2), ()]
STEPS = 20
TOL = dict(rtol=1e-5, atol=1e-6)


def problem(seed=0, steps=STEPS):
    """Initial values and per-step gradients (float32) for parameters of SHAPES."""
    rng = numpy.random.default_rng(seed)
    values = [rng.standard_normal(s).astype(numpy.float32) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(numpy.float32) for s in SHAPES] for _ in range(steps)]
    return values, grads


def groups_of(spec, params):
    """Param groups: ``spec`` lists dicts of parameter indices and per-group options."""
    spec = spec or [{"params": list(range(len(params)))}]
    return [{**g, "params": [params[i] for i in g["params"]]} for g in spec]


def run_ours(name, options, values, grads, spec=None):
    params = [distgrad.tensor(v.copy(), requires_grad=True) for v in values]
    opt = getattr(optim, name)(groups_of(spec, params), **options)
    steps(opt, params, grads)
    return [p.detach().numpy() for p in params], opt, params


def steps(opt, params, grads):
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = None if g is None else distgrad.tensor(g.copy())
        opt.step()


def run_torch(name, options, values, grads, spec=None):
    torch = pytest.importorskip("torch")
    params = [torch.nn.Parameter(torch.from_numpy(v.copy())) for v in values]
    opt = getattr(torch.optim, name)(groups_of(spec, params), **options)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = None if g is None else torch.from_numpy(g.copy())
        opt.step()
    return [p.detach().numpy() for p in params], opt


def assert_params_close(ours, expected):
    for i, (a, b) in enumerate(zip(ours, expected)):
        assert a.dtype == b.dtype and a.shape == b.shape, f"parameter {i}"
        numpy.testing.assert_allclose(a, b, **TOL, err_msg=f"parameter {i} differs from torch")


CONFIGS = [
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1)),
    ("Adadelta", dict(lr=2.0, maximize=True)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.01)),
    ("Adagrad", dict(lr=0.05, initial_accumulator_value=0.5, eps=1e-6, maximize=True)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.01, betas=(0.8, 0.95), weight_decay=0.1)),
    ("Adamax", dict(lr=0.02, eps=1e-3, maximize=True)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("NAdam", dict(lr=0.01, maximize=True, eps=1e-4)),
    ("RAdam", dict()),
    ("RAdam", dict(lr=0.01, betas=(0.9, 0.9), weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, betas=(0.8, 0.8), weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.01, maximize=True)),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in o.items()) or 'default'}" for name, o in CONFIGS]


@pytest.mark.parametrize("name,options", CONFIGS, ids=IDS)
def test_matches_torch(name, options):
    values, grads = problem()
    ours, opt, params = run_ours(name, options, values, grads)
    expected, torch_opt = run_torch(name, options, values, grads)
    assert_params_close(ours, expected)
    moved = max(numpy.abs(a - v).max() for a, v in zip(ours, values))
    assert moved > 1e-3, "the parameters hardly moved: the comparison would mean little"
    # Every state entry torch keeps is kept, with the same values.
    for p, tp in zip(params, torch_opt.param_groups[0]["params"]):
        theirs = torch_opt.state[tp]
        assert set(opt.state[p]) == set(theirs)
        for key, value in theirs.items():
            numpy.testing.assert_allclose(numpy.asarray(opt.state[p][key]), value.detach().numpy(),
                                          **TOL, err_msg=f"state {key!r}")


def test_radam_takes_both_branches():
    # With beta2 = 0.9, rho_t passes 5 only from step 6 on: plain momentum steps come first.
    values, grads = problem()
    options = dict(lr=0.01, betas=(0.9, 0.9))
    for n in (3, 10):
        ours, _, _ = run_ours("RAdam", options, values, grads[:n])
        assert_params_close(ours, run_torch("RAdam", options, values, grads[:n])[0])


# Two groups with their own options; parameter 1 gains its gradient only at step 5 and
# parameter 0 loses it for three steps, so parameters of one group are at different steps.
def group_problem():
    values, grads = problem(seed=1)
    for t, step_grads in enumerate(grads):
        if t < 5:
            step_grads[1] = None
        if 10 <= t < 13:
            step_grads[0] = None
    spec = [{"params": [0, 1], "lr": 0.03}, {"params": [2, 3], "weight_decay": 0.1}]
    return values, grads, spec


GROUP_CASES = [("Adadelta", dict()), ("Adagrad", dict(lr=0.1, lr_decay=0.1)),
               ("Adamax", dict(lr=0.01)), ("NAdam", dict(lr=0.01)),
               ("RAdam", dict(lr=0.01, betas=(0.9, 0.9)))]


@pytest.mark.parametrize("name,options", GROUP_CASES, ids=[n for n, _ in GROUP_CASES])
def test_groups_and_parameters_at_different_steps_match_torch(name, options):
    values, grads, spec = group_problem()
    ours, opt, params = run_ours(name, options, values, grads, spec)
    assert_params_close(ours, run_torch(name, options, values, grads, spec)[0])
    assert [opt.state[p]["step"] for p in params[:3]] == [STEPS - 3, STEPS - 5, STEPS]


ROUND_TRIP = GROUP_CASES + [("NAdam", dict(decoupled_weight_decay=True, weight_decay=0.05))]


@pytest.mark.parametrize("name,options", ROUND_TRIP,
                         ids=[n for n, _ in GROUP_CASES] + ["NAdam-decoupled"])
def test_state_dict_round_trip_mid_run_continues_the_same_trajectory(name, options):
    values, grads, spec = group_problem()
    expected, _, _ = run_ours(name, options, values, grads, spec)
    half, opt, _ = run_ours(name, options, values, grads[:7], spec)
    saved = opt.state_dict()
    params = [distgrad.tensor(v, requires_grad=True) for v in half]
    fresh = getattr(optim, name)(groups_of([{"params": [0, 1]}, {"params": [2, 3]}], params),
                                 lr=0.5)
    fresh.load_state_dict(saved)
    assert fresh.param_groups[0]["lr"] == 0.03 and fresh.param_groups[1]["weight_decay"] == 0.1
    if name == "NAdam":
        assert fresh.state[params[0]]["mu_product"] == opt.state_dict()["state"][0]["mu_product"]
    steps(fresh, params, grads[7:])
    for p, e in zip(params, expected):
        numpy.testing.assert_array_equal(p.detach().numpy(), e)


def test_nadam_mu_product_is_the_running_product_of_momentum_factors():
    values, grads = problem(steps=3)
    _, opt, params = run_ours("NAdam", dict(momentum_decay=0.1), values, grads)
    mus = [0.9 * (1 - 0.5 * 0.96 ** (t * 0.1)) for t in (1, 2, 3)]
    entry = opt.state_dict()["state"][2]
    assert entry["step"] == 3 and entry["mu_product"] == pytest.approx(numpy.prod(mus), rel=1e-12)


def test_adagrad_state_exists_from_construction_as_in_torch():
    p = distgrad.tensor([[1.0, 2.0]], requires_grad=True)
    q = distgrad.tensor([3.0], requires_grad=True)
    opt = optim.Adagrad([p], initial_accumulator_value=0.25)
    opt.add_param_group({"params": [q], "initial_accumulator_value": 0.5})
    state = opt.state_dict()["state"]
    assert state[0]["step"] == 0 and state[1]["step"] == 0
    numpy.testing.assert_array_equal(state[0]["sum"], [[0.25, 0.25]])
    numpy.testing.assert_array_equal(state[1]["sum"], [0.5])
    assert state[0]["sum"].dtype == numpy.float32


def test_defaults_are_torchs():
    torch = pytest.importorskip("torch")
    ours_p, torch_p = distgrad.tensor([1.0], requires_grad=True), torch.nn.Parameter(torch.ones(1))
    for name in ("Adadelta", "Adagrad", "Adamax", "NAdam", "RAdam"):
        ours = getattr(optim, name)([ours_p]).defaults
        theirs = getattr(torch.optim, name)([torch_p]).defaults
        assert ours == {k: theirs[k] for k in ours}, name
        left_out = set(theirs) - set(ours)
        assert left_out <= {"foreach", "capturable", "differentiable", "fused"}, name


BAD_ARGUMENTS = [
    ("Adadelta", dict(lr=-1)), ("Adadelta", dict(rho=1.5)), ("Adadelta", dict(rho=-0.1)),
    ("Adadelta", dict(eps=-1)), ("Adadelta", dict(weight_decay=-1)),
    ("Adagrad", dict(lr=-1)), ("Adagrad", dict(lr_decay=-1)), ("Adagrad", dict(weight_decay=-1)),
    ("Adagrad", dict(initial_accumulator_value=-1)), ("Adagrad", dict(eps=-1)),
    ("Adamax", dict(lr=-1)), ("Adamax", dict(eps=-1)), ("Adamax", dict(betas=(1.0, 0.9))),
    ("Adamax", dict(betas=(0.9, -0.1))), ("Adamax", dict(weight_decay=-1)),
    ("NAdam", dict(lr=-1)), ("NAdam", dict(betas=(0.9, 1.0))), ("NAdam", dict(weight_decay=-1)),
    ("NAdam", dict(momentum_decay=-1)), ("NAdam", dict(eps=-1)),
    ("RAdam", dict(lr=-1)), ("RAdam", dict(betas=(-0.5, 0.9))), ("RAdam", dict(weight_decay=-1)),
    ("RAdam", dict(eps=-1)),
]


@pytest.mark.parametrize("name,options", BAD_ARGUMENTS,
                         ids=[f"{n}-{o}" for n, o in BAD_ARGUMENTS])
def test_bad_arguments_raise_torchs_value_error(name, options):
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)([torch.nn.Parameter(torch.ones(1))], **options)
    with pytest.raises(ValueError) as ours:
        getattr(optim, name)([distgrad.tensor([1.0], requires_grad=True)], **options)
    assert str(ours.value) == str(theirs.value)
    assert str(ours.value).startswith("Invalid ")


def test_rho_of_one_is_allowed_as_in_torch():
    optim.Adadelta([distgrad.tensor([1.0], requires_grad=True)], rho=1.0)
