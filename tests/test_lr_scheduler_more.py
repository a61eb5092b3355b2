"""ExponentialLR, MultiStepLR, LambdaLR, OneCycleLR, ReduceLROnPlateau and
CosineAnnealingWarmRestarts: the rates (and cycled momenta) over every phase equal PyTorch's,
with SGD and Adam; state_dict round trips mid-run continue the same sequence; bad arguments
raise ValueError where PyTorch does."""
import numpy
import pytest

import distgrad
from distgrad import optim
from distgrad.optim import lr_scheduler

STEPS = 40
LRS = (0.1, 0.02)
# Metric values with improvements, plateaus, tiny gains under the threshold and a rebound.
METRICS = [5.0, 4.0, 4.0, 3.9999, 4.2, 4.1, 4.0, 3.0, 3.0, 3.0, 3.0, 3.0, 2.9, 2.95, 2.95,
           2.95, 2.95, 2.95, 2.95, 3.5, 1.0, 1.0, 0.9995, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
           1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]


def plain_step(scheduler, t, tensor):
    scheduler.step()


def metric_step(scheduler, t, tensor):
    # Plain floats, 0-d and one-element tensors, as scripts pass them.
    value = METRICS[t]
    scheduler.step([value, tensor(value), tensor([value])][t % 3])


def run(lib, make, optimizer="SGD", steps=STEPS, advance=plain_step, nudge=None, lrs=LRS):
    """Each group's (lr, momentum or beta1) after construction and after each step."""
    if lib == "torch":
        torch = pytest.importorskip("torch")
        params = [torch.nn.Parameter(torch.ones(1)) for _ in lrs]
        optim_module, tensor = torch.optim, torch.tensor
    else:
        params = [distgrad.tensor([1.0], requires_grad=True) for _ in lrs]
        optim_module, tensor = optim, distgrad.tensor
    options = dict(momentum=0.9) if optimizer in ("SGD", "RMSprop") else {}
    opt = getattr(optim_module, optimizer)([{"params": [p], "lr": lr} for p, lr in
                                            zip(params, lrs)], **options)
    scheduler = make(opt, optim_module.lr_scheduler)

    def snapshot():
        if lib == "ours":
            assert scheduler.get_last_lr() == [g["lr"] for g in opt.param_groups]
        return [(g["lr"], g["betas"][0] if "betas" in g else g.get("momentum", 0.0))
                for g in opt.param_groups]

    values = [snapshot()]
    for t in range(steps):
        if t == nudge:
            for group in opt.param_groups:
                group["lr"] /= 2
        opt.step()
        advance(scheduler, t, tensor)
        values.append(snapshot())
    return numpy.array(values)


class Warmup:
    """A callable object with state, as LambdaLR's state_dict keeps its ``__dict__``."""

    def __init__(self, steps):
        self.steps = steps

    def __call__(self, step):
        return min(1.0, (step + 1) / self.steps)


def warmup_then_decay(opt, m):
    return m.SequentialLR(opt, [m.LambdaLR(opt, Warmup(5)), m.ExponentialLR(opt, gamma=0.9)],
                          milestones=[5])


CASES = {
    "ExponentialLR": (lambda opt, m: m.ExponentialLR(opt, gamma=0.9), "SGD"),
    "MultiStepLR": (lambda opt, m: m.MultiStepLR(opt, milestones=[12, 3, 20, 20], gamma=0.5),
                    "SGD"),
    "LambdaLR": (lambda opt, m: m.LambdaLR(opt, lambda t: 1 / (1 + t)), "SGD"),
    "LambdaLR-per-group": (lambda opt, m: m.LambdaLR(opt, [Warmup(10), lambda t: 0.95 ** t]),
                           "Adam"),
    "LambdaLR-then-ExponentialLR": (warmup_then_decay, "SGD"),
    "OneCycleLR-cos-SGD": (lambda opt, m: m.OneCycleLR(opt, max_lr=[1.0, 0.5], total_steps=STEPS),
                           "SGD"),
    "OneCycleLR-linear-Adam": (lambda opt, m: m.OneCycleLR(
        opt, max_lr=0.3, total_steps=STEPS, anneal_strategy="linear", pct_start=0.25,
        base_momentum=0.8, max_momentum=[0.9, 0.99]), "Adam"),
    "OneCycleLR-three-phase-SGD": (lambda opt, m: m.OneCycleLR(
        opt, max_lr=1.0, epochs=4, steps_per_epoch=10, three_phase=True, div_factor=10.0,
        final_div_factor=100.0), "SGD"),
    "OneCycleLR-three-phase-linear-RMSprop": (lambda opt, m: m.OneCycleLR(
        opt, max_lr=0.2, total_steps=STEPS + 5, three_phase=True, anneal_strategy="linear"),
        "RMSprop"),
    "OneCycleLR-no-momentum-cycling": (lambda opt, m: m.OneCycleLR(
        opt, max_lr=0.2, total_steps=STEPS, cycle_momentum=False), "Adam"),
    "CosineAnnealingWarmRestarts": (lambda opt, m: m.CosineAnnealingWarmRestarts(
        opt, T_0=7, eta_min=1e-3), "SGD"),
    "CosineAnnealingWarmRestarts-T_mult": (lambda opt, m: m.CosineAnnealingWarmRestarts(
        opt, T_0=3, T_mult=2), "Adam"),
}
PLATEAU = {
    "min-rel": dict(patience=2),
    "min-abs-cooldown": dict(threshold=0.01, threshold_mode="abs", patience=1, cooldown=2,
                             factor=0.5),
    "max-rel-min_lr": dict(mode="max", patience=0, factor=0.3, min_lr=[1e-3, 5e-3]),
    "max-abs-eps": dict(mode="max", threshold_mode="abs", patience=1, factor=0.5, eps=0.02),
}


@pytest.mark.parametrize("name", list(CASES))
def test_sequence_matches_torch(name):
    make, optimizer = CASES[name]
    ours = run("ours", make, optimizer)
    numpy.testing.assert_allclose(ours, run("torch", make, optimizer), rtol=1e-12, atol=1e-15)
    assert len(numpy.unique(ours[:, 0, 0])) > 3, "the schedule should change the rate"


@pytest.mark.parametrize("name", ["ExponentialLR", "MultiStepLR"])
def test_outside_changes_carry_over_as_in_torch(name):
    make, optimizer = CASES[name]
    numpy.testing.assert_allclose(run("ours", make, optimizer, nudge=7),
                                  run("torch", make, optimizer, nudge=7), rtol=1e-12)


def test_one_cycle_cycles_momentum_and_betas_opposite_to_the_rate():
    for optimizer in ("SGD", "Adam"):
        values = run("ours", CASES["OneCycleLR-cos-SGD"][0], optimizer)
        peak = values[:, 0, 0].argmax()
        assert peak == round(0.3 * STEPS) - 1
        assert values[peak, 0, 1] == pytest.approx(0.85) and values[0, 0, 1] == 0.95
        assert values[0, 0, 0] == pytest.approx(1.0 / 25)
        assert values[-2, 0, 0] == pytest.approx(1.0 / 25 / 1e4)


def test_one_cycle_stepping_past_total_steps_raises_as_torch():
    make = CASES["OneCycleLR-cos-SGD"][0]
    with pytest.raises(ValueError):
        run("torch", make, steps=STEPS + 1)
    with pytest.raises(ValueError, match=f"Tried to step {STEPS + 1} times"):
        run("ours", make, steps=STEPS + 1)


@pytest.mark.parametrize("name", list(PLATEAU))
def test_reduce_on_plateau_matches_torch(name):
    def make(opt, m):
        return m.ReduceLROnPlateau(opt, **PLATEAU[name])

    ours = run("ours", make, advance=metric_step)
    numpy.testing.assert_allclose(ours, run("torch", make, advance=metric_step), rtol=1e-12)
    assert len(numpy.unique(ours[:, 0, 0])) > 2, "the metrics should trigger reductions"


def test_reduce_on_plateau_counts_as_torch():
    opt = optim.SGD([distgrad.tensor([1.0], requires_grad=True)], lr=1.0)
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=2, cooldown=1)
    for value in (3.0, 3.0, 3.0):
        sched.step(value)
    assert (sched.best, sched.num_bad_epochs, sched.last_epoch) == (3.0, 2, 3)
    sched.step(distgrad.tensor(3.0))
    assert sched.get_last_lr() == [0.1] and sched.in_cooldown and sched.num_bad_epochs == 0
    with pytest.raises(RuntimeError, match="one element"):
        sched.step(distgrad.tensor([1.0, 2.0]))


@pytest.mark.parametrize("T_mult", [1, 2, 3])
def test_warm_restarts_with_fractional_epochs_match_torch(T_mult):
    epochs = [e / 4 for e in range(0, 70)] + [3, 2.5, 40.25, 13, 0.0, 100.5]

    def make(opt, m):
        return m.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=T_mult, eta_min=0.001)

    def jump(scheduler, t, tensor):
        scheduler.step(epochs[t])

    steps = len(epochs)
    ours = run("ours", make, steps=steps, advance=jump)
    numpy.testing.assert_allclose(ours, run("torch", make, steps=steps, advance=jump),
                                  rtol=1e-12, atol=1e-15)


def test_warm_restarts_restart_at_the_initial_rate():
    values = run("ours", CASES["CosineAnnealingWarmRestarts-T_mult"][0], "Adam", steps=21)
    restarts = [t for t in range(1, 22) if values[t, 0, 0] == LRS[0]]
    assert restarts == [3, 9, 21]


STATEFUL = {**{name: CASES[name] for name in CASES},
            **{f"ReduceLROnPlateau-{k}": (lambda opt, m, k=k: m.ReduceLROnPlateau(
                opt, **PLATEAU[k]), "SGD") for k in PLATEAU}}


@pytest.mark.parametrize("name", list(STATEFUL))
def test_state_dict_round_trip_continues_the_same_sequence(name):
    make, optimizer = STATEFUL[name]
    advance = metric_step if name.startswith("ReduceLROnPlateau") else plain_step
    expected = run("ours", make, optimizer, advance=advance)
    first = run_and_save(make, optimizer, advance, 17)
    params = [distgrad.tensor([1.0], requires_grad=True) for _ in LRS]
    options = dict(momentum=0.9) if optimizer in ("SGD", "RMSprop") else {}
    opt = getattr(optim, optimizer)([{"params": [p], "lr": 0.7} for p in params], **options)
    scheduler = make(opt, lr_scheduler)
    opt.load_state_dict(first["optimizer"])
    scheduler.load_state_dict(first["scheduler"])
    for t in range(17, STEPS):
        opt.step()
        advance(scheduler, t, distgrad.tensor)
        assert [(g["lr"], g["betas"][0] if "betas" in g else g["momentum"])
                for g in opt.param_groups] == [tuple(v) for v in expected[t + 1]]
        assert scheduler.get_last_lr() == list(expected[t + 1, :, 0])


def run_and_save(make, optimizer, advance, steps):
    params = [distgrad.tensor([1.0], requires_grad=True) for _ in LRS]
    options = dict(momentum=0.9) if optimizer in ("SGD", "RMSprop") else {}
    opt = getattr(optim, optimizer)([{"params": [p], "lr": lr} for p, lr in zip(params, LRS)],
                                    **options)
    scheduler = make(opt, lr_scheduler)
    for t in range(steps):
        opt.step()
        advance(scheduler, t, distgrad.tensor)
    saved = scheduler.state_dict()
    assert "optimizer" not in saved
    return {"optimizer": opt.state_dict(), "scheduler": saved}


def test_lambda_state_dict_leaves_functions_out_but_keeps_callable_objects_state():
    opt = optim.SGD([{"params": [distgrad.tensor([1.0], requires_grad=True)]}
                     for _ in LRS], lr=0.1)
    warmup = Warmup(10)
    sched = lr_scheduler.LambdaLR(opt, [warmup, lambda t: 0.5 ** t])
    saved = sched.state_dict()
    assert saved["lr_lambdas"] == [{"steps": 10}, None]
    assert not any(callable(v) for v in saved.values())
    warmup.steps = 2
    sched.load_state_dict(saved)
    assert sched.lr_lambdas[0] is warmup and warmup.steps == 10


def arguments_that_torch_rejects():
    return {
        "ExponentialLR": [],
        "MultiStepLR": [],
        "LambdaLR": [lambda opt, m: m.LambdaLR(opt, [lambda t: 1.0])],
        "OneCycleLR": [
            lambda opt, m: m.OneCycleLR(opt, max_lr=1.0),
            lambda opt, m: m.OneCycleLR(opt, max_lr=1.0, total_steps=0),
            lambda opt, m: m.OneCycleLR(opt, max_lr=1.0, total_steps=10.0),
            lambda opt, m: m.OneCycleLR(opt, max_lr=1.0, epochs=0, steps_per_epoch=3),
            lambda opt, m: m.OneCycleLR(opt, max_lr=1.0, epochs=2, steps_per_epoch=-1),
            lambda opt, m: m.OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=1),
            lambda opt, m: m.OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=1.5),
            lambda opt, m: m.OneCycleLR(opt, max_lr=1.0, total_steps=10, anneal_strategy="exp"),
            lambda opt, m: m.OneCycleLR(opt, max_lr=[1.0], total_steps=10),
            lambda opt, m: m.OneCycleLR(opt, max_lr=1.0, total_steps=10, max_momentum=[0.9]),
            lambda opt, m: m.OneCycleLR(m_opt(opt, "Adagrad"), max_lr=1.0, total_steps=10),
        ],
        "ReduceLROnPlateau": [
            lambda opt, m: m.ReduceLROnPlateau(opt, factor=1.0),
            lambda opt, m: m.ReduceLROnPlateau(opt, mode="maximum"),
            lambda opt, m: m.ReduceLROnPlateau(opt, threshold_mode="relative"),
            lambda opt, m: m.ReduceLROnPlateau(opt, min_lr=[0.1]),
        ],
        "CosineAnnealingWarmRestarts": [
            lambda opt, m: m.CosineAnnealingWarmRestarts(opt, T_0=0),
            lambda opt, m: m.CosineAnnealingWarmRestarts(opt, T_0=2.0),
            lambda opt, m: m.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=0),
            lambda opt, m: m.CosineAnnealingWarmRestarts(opt, T_0=2, eta_min="0"),
            lambda opt, m: m.CosineAnnealingWarmRestarts(opt, T_0=2).step(-1),
        ],
    }


def m_opt(opt, name):
    """An optimiser of kind ``name`` (from opt's own library) over opt's parameters."""
    library = optim if isinstance(opt, optim.Optimizer) else pytest.importorskip("torch").optim
    return getattr(library, name)([p for g in opt.param_groups for p in g["params"]])


BAD = [(name, i) for name, makes in arguments_that_torch_rejects().items()
       for i in range(len(makes))]


@pytest.mark.parametrize("name,index", BAD, ids=[f"{n}-{i}" for n, i in BAD])
def test_bad_arguments_raise_value_error_as_torch(name, index):
    make = arguments_that_torch_rejects()[name][index]
    with pytest.raises(ValueError):
        run("torch", make, steps=0)
    with pytest.raises(ValueError):
        run("ours", make, steps=0)
