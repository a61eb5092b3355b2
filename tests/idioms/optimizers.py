"""Optimizers: a few steps from identical weights must land on identical weights."""
import copy

from .inputs import X, Y, deterministic, fit
from . import category

idiom = category("optimizers")


@idiom
def sgd(torch, nn, optim):
    return fit(torch, nn, lambda params: optim.SGD(params, lr=0.1))


@idiom
def sgd_momentum_nesterov_weight_decay(torch, nn, optim):
    return fit(torch, nn, lambda params: optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True,
                                                   weight_decay=1e-2))


@idiom
def sgd_momentum_dampening(torch, nn, optim):
    return fit(torch, nn, lambda params: optim.SGD(params, lr=0.05, momentum=0.5, dampening=0.1))


@idiom
def adam(torch, nn, optim):
    return fit(torch, nn, lambda params: optim.Adam(params, lr=0.01), steps=5)


@idiom
def adam_weight_decay_amsgrad(torch, nn, optim):
    return fit(torch, nn, lambda params: optim.Adam(params, lr=0.01, betas=(0.8, 0.99),
                                                    weight_decay=0.1, amsgrad=True), steps=5)


@idiom
def adamw(torch, nn, optim):
    return fit(torch, nn, lambda params: optim.AdamW(params, lr=0.01, weight_decay=0.05), steps=5)


@idiom
def rmsprop(torch, nn, optim):
    return fit(torch, nn, lambda params: optim.RMSprop(params, lr=0.01, momentum=0.5), steps=5)


@idiom
def adadelta(torch, nn, optim):
    return fit(torch, nn, lambda params: optim.Adadelta(params, lr=1.0), steps=5)


@idiom
def adagrad(torch, nn, optim):
    return fit(torch, nn, lambda params: optim.Adagrad(params, lr=0.1), steps=5)


@idiom
def adamax(torch, nn, optim):
    return fit(torch, nn, lambda params: optim.Adamax(params, lr=0.02), steps=5)


@idiom
def nadam(torch, nn, optim):
    return fit(torch, nn, lambda params: optim.NAdam(params, lr=0.01), steps=5)


@idiom
def radam(torch, nn, optim):
    return fit(torch, nn, lambda params: optim.RAdam(params, lr=0.01), steps=8)


@idiom
def per_parameter_groups(torch, nn, optim):
    def make(params):
        weight, bias = params
        return optim.SGD([{"params": [weight]}, {"params": [bias], "lr": 0.5}], lr=0.1,
                         momentum=0.9)
    return fit(torch, nn, lambda params: make(list(params)))


@idiom
def param_groups_lr_and_defaults(torch, nn, optim):
    opt = optim.Adam(nn.Linear(2, 2).parameters(), lr=0.003)
    group = opt.param_groups[0]
    return group["lr"], group["betas"], len(group["params"]), opt.defaults["eps"]


@idiom
def change_lr_through_param_groups(torch, nn, optim):
    def make(params):
        opt = optim.SGD(params, lr=1.0)
        for group in opt.param_groups:
            group["lr"] = 0.01
        return opt
    return fit(torch, nn, make)


@idiom
def optimizer_zero_grad_sets_none(torch, nn, optim):
    model = deterministic(torch, nn.Linear(5, 3))
    opt = optim.SGD(model.parameters(), lr=0.1)
    model(torch.tensor(X)).sum().backward()
    opt.zero_grad()
    return model.weight.grad is None, model.bias.grad is None


@idiom
def optimizer_state_dict_layout(torch, nn, optim):
    model = deterministic(torch, nn.Linear(5, 3))
    opt = optim.Adam(model.parameters(), lr=0.01)
    model(torch.tensor(X)).sum().backward()
    opt.step()
    sd = opt.state_dict()
    return list(sd.keys()), sorted(sd["state"][0].keys()), sd["param_groups"][0]["params"]


@idiom
def optimizer_state_dict_resume(torch, nn, optim):
    def train(model, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            ((model(torch.tensor(X)) - torch.tensor(Y)) ** 2).mean().backward()
            opt.step()

    model = deterministic(torch, nn.Linear(5, 3))
    opt = optim.Adam(model.parameters(), lr=0.01)
    train(model, opt, 2)
    resumed = nn.Linear(5, 3)
    resumed.load_state_dict(model.state_dict())
    resumed_opt = optim.Adam(resumed.parameters(), lr=0.5)
    resumed_opt.load_state_dict(copy.deepcopy(opt.state_dict()))  # PyTorch's shares its tensors
    train(model, opt, 2)
    train(resumed, resumed_opt, 2)
    return resumed.weight, model.weight, resumed_opt.param_groups[0]["lr"]


@idiom
def step_with_closure(torch, nn, optim):
    model = deterministic(torch, nn.Linear(5, 3))
    opt = optim.SGD(model.parameters(), lr=0.1)

    def closure():
        opt.zero_grad()
        loss = ((model(torch.tensor(X)) - torch.tensor(Y)) ** 2).mean()
        loss.backward()
        return loss

    loss = opt.step(closure)
    return loss, model.weight
