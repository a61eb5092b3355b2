"""``nn.Module`` methods and ``nn.utils``: parameters, state dicts, modes, dtype moves, buffers."""
import copy

from .inputs import X, deterministic
from . import category

idiom = category("Module methods and nn.utils")


def _net(torch, nn):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(5, 4)
            self.bn = nn.BatchNorm1d(4)
            self.drop = nn.Dropout(0.5)
            self.fc2 = nn.Linear(4, 2)

        def forward(self, x):
            return self.fc2(self.drop(nn.functional.relu(self.bn(self.fc1(x)))))

    return deterministic(torch, Net())


@idiom
def parameter_count(torch, nn):
    model = _net(torch, nn)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@idiom
def named_parameters(torch, nn):
    return [(name, tuple(p.shape)) for name, p in _net(torch, nn).named_parameters()]


@idiom
def state_dict_keys(torch, nn):
    return list(_net(torch, nn).state_dict().keys())


@idiom
def state_dict_values_are_detached_tensors(torch, nn):
    sd = _net(torch, nn).state_dict()
    return sd["fc1.weight"], sd["bn.running_var"], sd["bn.num_batches_tracked"]


@idiom
def state_dict_shares_memory(torch, nn):
    model = _net(torch, nn)
    model.state_dict()["fc2.bias"].fill_(3.0)
    return model.fc2.bias


@idiom
def load_state_dict_round_trip(torch, nn):
    model = _net(torch, nn)
    other = _net(torch, nn).__class__()
    result = other.load_state_dict(model.state_dict())
    other.eval()
    return other(torch.tensor(X)), result.missing_keys, result.unexpected_keys


@idiom
def load_state_dict_not_strict(torch, nn):
    sd = nn.Linear(5, 4).state_dict()
    sd["extra"] = torch.zeros(1)
    del sd["bias"]
    result = nn.Linear(5, 4).load_state_dict(sd, strict=False)
    return result.missing_keys, result.unexpected_keys


@idiom
def train_and_eval_flags(torch, nn):
    model = _net(torch, nn)
    flags = [model.training, model.bn.training]
    same = model.eval() is model
    flags += [model.training, model.drop.training]
    model.train()
    return flags, same, model.fc1.training, model.train(False).training


@idiom
def eval_mode_output(torch, nn):
    model = _net(torch, nn)
    model.eval()
    with torch.no_grad():
        return model(torch.tensor(X))


@idiom
def train_mode_updates_batchnorm(torch, nn):
    model = _net(torch, nn)
    model.drop.p = 0.0
    out = model(torch.tensor(X))
    return out, model.bn.running_mean, model.bn.num_batches_tracked


@idiom
def float_double_half(torch, nn):
    model = nn.Linear(2, 2)
    dtypes = [model.double().weight.dtype, model.half().weight.dtype, model.float().weight.dtype]
    return dtypes, model.to(torch.float64).bias.dtype


@idiom
def double_model_forward(torch, nn):
    model = deterministic(torch, nn.Linear(5, 3)).double()
    return model(torch.tensor(X).double())


@idiom
def to_and_cpu_return_self(torch, nn):
    model = nn.Linear(2, 2)
    return model.to("cpu") is model, model.cpu() is model, model.float() is model


@idiom
def requires_grad_false_freezes(torch, nn):
    model = _net(torch, nn)
    model.fc1.requires_grad_(False)
    return [p.requires_grad for p in model.parameters()]


@idiom
def zero_grad_sets_none(torch, nn):
    model = _net(torch, nn)
    model(torch.tensor(X)).sum().backward()
    model.zero_grad()
    return [p.grad is None for p in model.parameters()]


@idiom
def zero_grad_set_to_none_false(torch, nn):
    model = deterministic(torch, nn.Linear(5, 2))
    model(torch.tensor(X)).sum().backward()
    model.zero_grad(set_to_none=False)
    return model.weight.grad, model.bias.grad


@idiom
def apply_visits_every_module(torch, nn):
    names = []
    _net(torch, nn).apply(lambda m: names.append(type(m).__name__))
    return names


@idiom
def named_modules_and_children(torch, nn):
    model = _net(torch, nn)
    return ([name for name, _ in model.named_modules()],
            [type(m).__name__ for m in model.children()],
            [name for name, _ in model.named_children()], len(list(model.modules())))


@idiom
def register_buffer_persistent(torch, nn):
    class WithBuffers(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("scale", torch.ones(2))
            self.register_buffer("cache", torch.zeros(2), persistent=False)

    m = WithBuffers()
    return list(m.state_dict().keys()), [name for name, _ in m.named_buffers()], m.scale


@idiom
def parameter_attribute_registration(torch, nn):
    class Affine(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(3))
            self.offset = torch.zeros(3)  # a plain tensor is not a parameter

    m = Affine()
    return [name for name, _ in m.named_parameters()], isinstance(m.weight, nn.Parameter)


@idiom
def parameter_requires_grad(torch, nn):
    p = nn.Parameter(torch.zeros(3))
    q = nn.Parameter(torch.zeros(3), requires_grad=False)
    return p.requires_grad, q.requires_grad, isinstance(p, torch.Tensor), p


@idiom
def deepcopy_module(torch, nn):
    model = _net(torch, nn)
    clone = copy.deepcopy(model)
    with torch.no_grad():
        clone.fc2.bias.fill_(9.0)
    return model.fc2.bias, clone.fc2.bias


@idiom
def add_module_and_getattr(torch, nn):
    model = nn.Sequential()
    model.add_module("fc", nn.Linear(5, 2))
    model.add_module("act", nn.ReLU())
    return [name for name, _ in model.named_children()], model.fc.out_features


@idiom
def forward_hook(torch, nn):
    shapes = []
    model = _net(torch, nn)
    handle = model.fc1.register_forward_hook(lambda m, inp, out: shapes.append(tuple(out.shape)))
    model(torch.tensor(X))
    handle.remove()
    model(torch.tensor(X))
    return shapes


@idiom
def clip_grad_norm_returns_tensor(torch, nn):
    model = deterministic(torch, nn.Linear(5, 3))
    (model(torch.tensor(X)) ** 2).sum().backward()
    total = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    return total, model.weight.grad, model.bias.grad


@idiom
def clip_grad_norm_inf(torch, nn):
    model = deterministic(torch, nn.Linear(5, 3))
    (model(torch.tensor(X)) ** 2).sum().backward()
    total = nn.utils.clip_grad_norm_(model.parameters(), 0.5, norm_type=float("inf"))
    return total, model.weight.grad


@idiom
def clip_grad_value(torch, nn):
    model = deterministic(torch, nn.Linear(5, 3))
    (model(torch.tensor(X)) ** 2).sum().backward()
    nn.utils.clip_grad_value_(model.parameters(), clip_value=0.5)
    return model.weight.grad, model.bias.grad


@idiom
def parameters_to_vector_and_back(torch, nn):
    model = deterministic(torch, nn.Linear(5, 3))
    vec = nn.utils.parameters_to_vector(model.parameters())
    nn.utils.vector_to_parameters(vec * 2, model.parameters())
    return vec, model.bias
