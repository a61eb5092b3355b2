"""Learning-rate schedulers: 30-step sequences equal PyTorch's and the closed forms, warm-up then
cosine through SequentialLR, initial_lr in param groups, state_dict round trips, bad arguments."""
import math

import numpy
import pytest

import distgrad
from distgrad import optim
from distgrad.optim import lr_scheduler

STEPS = 30
LRS = (0.1, 0.02)


def optimizer(lrs=LRS):
    params = [distgrad.tensor([1.0], requires_grad=True) for _ in lrs]
    return optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, lrs)], lr=lrs[0])


def sequence(make, steps=STEPS, lrs=LRS, nudge=None):
    """lrs of every group after construction and after each of ``steps`` steps (``nudge``
    halves the rates from outside before that step)."""
    opt = optimizer(lrs)
    scheduler = make(opt)
    values = [scheduler.get_last_lr()]
    for t in range(steps):
        if t == nudge:
            for group in opt.param_groups:
                group["lr"] /= 2
        opt.step()
        scheduler.step()
        values.append(scheduler.get_last_lr())
        assert values[-1] == [g["lr"] for g in opt.param_groups]
    return numpy.array(values)


def torch_sequence(make, steps=STEPS, lrs=LRS, nudge=None):
    torch = pytest.importorskip("torch")
    params = [torch.nn.Parameter(torch.ones(1)) for _ in lrs]
    opt = torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, lrs)], lr=lrs[0])
    scheduler = make(opt, torch.optim.lr_scheduler)
    values = [scheduler.get_last_lr()]
    for t in range(steps):
        if t == nudge:
            for group in opt.param_groups:
                group["lr"] /= 2
        opt.step()
        scheduler.step()
        values.append(scheduler.get_last_lr())
    return numpy.array(values)


def warmup_cosine(opt, m):
    warm = (m.LinearWarmup(opt, warmup_steps=5, start_factor=0.1) if m is lr_scheduler
            else m.LinearLR(opt, start_factor=0.1, total_iters=5))
    return m.SequentialLR(opt, [warm, m.CosineAnnealingLR(opt, T_max=20, eta_min=1e-4)],
                          milestones=[5])


CASES = {
    "StepLR": lambda opt, m: m.StepLR(opt, step_size=7, gamma=0.5),
    "CosineAnnealingLR": lambda opt, m: m.CosineAnnealingLR(opt, T_max=10, eta_min=1e-3),
    "LinearLR": lambda opt, m: m.LinearLR(opt, start_factor=0.25, end_factor=0.9, total_iters=8),
    "LinearLR-default": lambda opt, m: m.LinearLR(opt),
    "warmup+cosine": warmup_cosine,
    "three-phase": lambda opt, m: m.SequentialLR(
        opt, [m.LinearLR(opt, start_factor=0.5, total_iters=3), m.StepLR(opt, 4, gamma=0.3),
              m.CosineAnnealingLR(opt, T_max=8)], milestones=[3, 12]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_sequence_matches_torch(name):
    ours = sequence(lambda opt: CASES[name](opt, lr_scheduler))
    numpy.testing.assert_allclose(ours, torch_sequence(CASES[name]), rtol=1e-12, atol=0)
    assert len(numpy.unique(ours[:, 0])) > 3, "the schedule should change the rate"


@pytest.mark.parametrize("name", ["StepLR", "CosineAnnealingLR", "LinearLR", "warmup+cosine"])
def test_outside_changes_carry_over_as_in_torch(name):
    ours = sequence(lambda opt: CASES[name](opt, lr_scheduler), nudge=7)
    numpy.testing.assert_allclose(ours, torch_sequence(CASES[name], nudge=7), rtol=1e-12, atol=0)


def test_step_lr_values():
    ours = sequence(lambda opt: lr_scheduler.StepLR(opt, step_size=7, gamma=0.5))
    expected = [[lr * 0.5 ** (t // 7) for lr in LRS] for t in range(STEPS + 1)]
    numpy.testing.assert_allclose(ours, expected, rtol=1e-12)


def test_cosine_follows_the_closed_form_within_one_period():
    ours = sequence(lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=25, eta_min=1e-3), steps=25)
    expected = [[1e-3 + (lr - 1e-3) * (1 + math.cos(math.pi * t / 25)) / 2 for lr in LRS]
                for t in range(26)]
    numpy.testing.assert_allclose(ours, expected, rtol=1e-7)
    numpy.testing.assert_allclose(ours[-1], [1e-3, 1e-3], rtol=1e-7)


def test_linear_warmup_values_then_constant():
    ours = sequence(lambda opt: lr_scheduler.LinearWarmup(opt, warmup_steps=4, start_factor=0.2), steps=8)
    factors = [0.2, 0.4, 0.6, 0.8, 1.0, 1.0, 1.0, 1.0, 1.0]
    numpy.testing.assert_allclose(ours, [[lr * f for lr in LRS] for f in factors], rtol=1e-12)


def test_warmup_then_cosine_starts_cosine_at_the_initial_rate():
    ours = sequence(lambda opt: warmup_cosine(opt, lr_scheduler))
    numpy.testing.assert_allclose(ours[:5, 0], [0.01, 0.028, 0.046, 0.064, 0.082], rtol=1e-12)
    numpy.testing.assert_allclose(ours[5], LRS, rtol=1e-12)
    numpy.testing.assert_allclose(ours[25], [1e-4, 1e-4], rtol=1e-7)


def test_construction_records_initial_lr_and_takes_step_zero():
    opt = optimizer()
    scheduler = lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=2)
    assert [g["initial_lr"] for g in opt.param_groups] == list(LRS)
    assert scheduler.last_epoch == 0 and scheduler.base_lrs == list(LRS)
    assert scheduler.get_last_lr() == [lr * 0.5 for lr in LRS]
    assert opt.state_dict()["param_groups"][0]["initial_lr"] == LRS[0]


@pytest.mark.parametrize("name", list(CASES))
def test_state_dict_round_trip_continues_the_same_sequence(name):
    expected = sequence(lambda opt: CASES[name](opt, lr_scheduler))
    opt = optimizer()
    scheduler = CASES[name](opt, lr_scheduler)
    for _ in range(13):
        opt.step()
        scheduler.step()
    saved_sched, saved_opt = scheduler.state_dict(), opt.state_dict()
    assert "optimizer" not in saved_sched
    opt2 = optimizer(lrs=(0.7, 0.7))
    scheduler2 = CASES[name](opt2, lr_scheduler)
    scheduler2.load_state_dict(saved_sched)
    opt2.load_state_dict(saved_opt)
    assert scheduler2.last_epoch == 13 and scheduler2.get_last_lr() == list(expected[13])
    values = []
    for _ in range(STEPS - 13):
        opt2.step()
        scheduler2.step()
        values.append(scheduler2.get_last_lr())
    numpy.testing.assert_allclose(values, expected[14:], rtol=1e-12)


def test_bad_arguments_raise():
    opt = optimizer()
    with pytest.raises(TypeError, match="is not an Optimizer"):
        lr_scheduler.StepLR(object(), step_size=2)
    with pytest.raises(ValueError, match=r"start_factor must be in \(0, 1\], got 0"):
        lr_scheduler.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError, match="end_factor must be in"):
        lr_scheduler.LinearLR(opt, end_factor=1.5)
    with pytest.raises(ValueError, match="warmup_steps >= 1, got 0"):
        lr_scheduler.LinearWarmup(opt, warmup_steps=0)
    with pytest.raises(ValueError, match="T_max > 0"):
        lr_scheduler.CosineAnnealingLR(opt, T_max=0)
    first, second = lr_scheduler.StepLR(opt, 2), lr_scheduler.StepLR(opt, 3)
    with pytest.raises(ValueError, match="got 2 schedulers and 0 milestones"):
        lr_scheduler.SequentialLR(opt, [first, second], milestones=[])
    with pytest.raises(ValueError, match="same optimizer"):
        lr_scheduler.SequentialLR(opt, [first, lr_scheduler.StepLR(optimizer(), 2)], milestones=[2])
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(optimizer(), step_size=2, last_epoch=4)
