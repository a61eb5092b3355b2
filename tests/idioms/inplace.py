"""In-place methods: on plain tensors, and on leaves under ``no_grad`` as PyTorch allows."""
from .inputs import M, V, X
from . import category

idiom = category("in-place ops")


@idiom
def add_sub_mul_div_(torch):
    x = torch.tensor(V)
    x.add_(1)
    x.sub_(torch.tensor(V))
    x.mul_(3)
    x.div_(2)
    return x


@idiom
def add_with_alpha_(torch):
    x = torch.tensor(V)
    x.add_(torch.ones(5), alpha=-0.5)
    return x


@idiom
def in_place_returns_self(torch):
    x = torch.tensor(V)
    return x.add_(1) is x, x.mul_(2) is x, x.zero_() is x


@idiom
def copy_from_other_dtype(torch):
    x = torch.zeros(5)
    x.copy_(torch.tensor([1, 2, 3, 4, 5]))
    return x


@idiom
def copy_broadcasts(torch):
    x = torch.zeros(2, 3)
    x.copy_(torch.tensor([1.0, 2.0, 3.0]))
    return x


@idiom
def fill_and_zero_(torch):
    x, y = torch.tensor(X), torch.tensor(X)
    x.fill_(0.25)
    y.zero_()
    return x, y


@idiom
def clamp_(torch):
    x = torch.tensor(X)
    x.clamp_(min=-0.5, max=0.5)
    return x


@idiom
def normal_statistics(torch):
    x = torch.zeros(100000).normal_(mean=2.0, std=0.5)
    return abs(x.mean().item() - 2.0) < 0.02, abs(x.std().item() - 0.5) < 0.02


@idiom
def uniform_range(torch):
    x = torch.zeros(1000).uniform_(-0.1, 0.1)
    return x.min().item() >= -0.1, x.max().item() < 0.1, x.abs().max().item() > 0.09


@idiom
def in_place_on_leaf_under_no_grad(torch):
    w = torch.tensor(V, requires_grad=True)
    with torch.no_grad():
        w.mul_(0.5)
        w.add_(1.0)
    return w, w.is_leaf


@idiom
def fill_parameter_under_no_grad(torch, nn):
    layer = nn.Linear(3, 2)
    with torch.no_grad():
        layer.weight.fill_(0.1)
        layer.bias.zero_()
    return layer(torch.tensor(M)), layer.weight.requires_grad


@idiom
def copy_parameter_under_no_grad(torch, nn):
    layer = nn.Linear(3, 3, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(M))
    return layer(torch.tensor(M))


@idiom
def augmented_assignment(torch):
    x = torch.tensor(V)
    y = x
    x += 1
    x *= 2
    x -= 0.5
    x /= 4
    return y is x, y


@idiom
def activation_in_place(torch):
    x, y = torch.tensor(V), torch.tensor(V)
    x.relu_()
    y.sigmoid_()
    return x, y


@idiom
def math_in_place(torch):
    x = torch.tensor(M + 1.0)
    x.sqrt_()
    x.exp_()
    x.log_()
    x.pow_(2)
    x.abs_()
    return x


@idiom
def masked_fill_(torch):
    x = torch.tensor(X)
    x.masked_fill_(x < 0, 0.0)
    return x


@idiom
def index_add_and_scatter_add(torch):
    counts = torch.zeros(3).index_add_(0, torch.tensor([0, 2, 2]), torch.ones(3))
    sums = torch.zeros(3).scatter_add_(0, torch.tensor([1, 1, 0]), torch.tensor([1.0, 2.0, 3.0]))
    return counts, sums


@idiom
def in_place_modifies_views(torch):
    x = torch.tensor(X)
    x[0].zero_()
    x[:, 2].fill_(5.0)
    x.view(-1)[1] = -1.0
    return x


@idiom
def unsqueeze_and_t_in_place(torch):
    x = torch.tensor(M)
    x.t_()
    y = torch.tensor(V)
    y.unsqueeze_(0)
    return x, y
