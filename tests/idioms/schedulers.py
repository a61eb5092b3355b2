"""Learning-rate schedulers: the lr sequence over a dozen steps."""
import math

from .inputs import lr_sequence
from . import category

idiom = category("lr schedulers")


@idiom
def step_lr(torch, optim):
    return lr_sequence(torch, optim,
                       lambda opt: optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5))


@idiom
def multi_step_lr(torch, optim):
    return lr_sequence(torch, optim,
                       lambda opt: optim.lr_scheduler.MultiStepLR(opt, [2, 5, 9], 0.1))


@idiom
def exponential_lr(torch, optim):
    return lr_sequence(torch, optim, lambda opt: optim.lr_scheduler.ExponentialLR(opt, gamma=0.9))


@idiom
def cosine_annealing_lr(torch, optim):
    return lr_sequence(torch, optim,
                       lambda opt: optim.lr_scheduler.CosineAnnealingLR(opt, T_max=8, eta_min=0.01))


@idiom
def cosine_annealing_warm_restarts(torch, optim):
    return lr_sequence(torch, optim, lambda opt: optim.lr_scheduler.CosineAnnealingWarmRestarts(
        opt, T_0=3, T_mult=2, eta_min=0.001))


@idiom
def lambda_lr(torch, optim):
    return lr_sequence(torch, optim,
                       lambda opt: optim.lr_scheduler.LambdaLR(opt, lambda epoch: 0.95 ** epoch))


@idiom
def lambda_lr_warmup(torch, optim):
    def warmup(step):
        return min(1.0, (step + 1) / 4)
    return lr_sequence(torch, optim, lambda opt: optim.lr_scheduler.LambdaLR(opt, lr_lambda=warmup))


@idiom
def linear_lr(torch, optim):
    return lr_sequence(torch, optim, lambda opt: optim.lr_scheduler.LinearLR(
        opt, start_factor=0.25, total_iters=4))


@idiom
def one_cycle_lr(torch, optim):
    return lr_sequence(torch, optim, lambda opt: optim.lr_scheduler.OneCycleLR(
        opt, max_lr=1.0, total_steps=13), steps=12)


@idiom
def one_cycle_lr_epochs_and_momentum(torch, optim):
    w = torch.zeros(2, requires_grad=True)
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=0.5, epochs=2, steps_per_epoch=5,
                                          anneal_strategy="linear")
    seen = []
    for _ in range(10):
        opt.step()
        sched.step()
        seen.append((opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"]))
    return seen[:-1]


@idiom
def reduce_lr_on_plateau(torch, optim):
    losses = [1.0, 0.9, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8]
    return lr_sequence(torch, optim, lambda opt: optim.lr_scheduler.ReduceLROnPlateau(
        opt, mode="min", factor=0.5, patience=2), metrics=losses)


@idiom
def reduce_lr_on_plateau_max_mode(torch, optim):
    accuracy = [0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7]
    return lr_sequence(torch, optim, lambda opt: optim.lr_scheduler.ReduceLROnPlateau(
        opt, "max", factor=0.1, patience=1, min_lr=1e-4), metrics=accuracy)


@idiom
def get_last_lr_is_a_list(torch, optim):
    w = torch.zeros(2, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    opt.step()
    sched.step()
    return sched.get_last_lr(), sched.last_epoch


@idiom
def scheduler_state_dict_resume(torch, optim):
    w = torch.zeros(2, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    for _ in range(3):
        opt.step()
        sched.step()
    state = sched.state_dict()
    opt2 = optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1)
    sched2 = optim.lr_scheduler.StepLR(opt2, step_size=2, gamma=0.5)
    sched2.load_state_dict(state)
    opt2.param_groups[0]["lr"] = sched2.get_last_lr()[0]
    opt2.step()
    sched2.step()
    return state["last_epoch"], sched2.get_last_lr(), math.isclose(sched2.get_last_lr()[0], 0.025)
