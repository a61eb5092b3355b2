"""``nn.init``: deterministic initialisers by value, random ones by the statistics they promise.

Tensors start as ``torch.zeros`` (``torch.empty`` is measured once) so each idiom measures its
initialiser only."""
import math

from .inputs import X
from . import category

idiom = category("nn.init")


@idiom
def constant_zeros_ones(torch, nn):
    a, b, c = torch.empty(2, 3), torch.empty(3), torch.empty(2, 2)
    nn.init.constant_(a, 0.3)
    nn.init.zeros_(b)
    nn.init.ones_(c)
    return a, b, c


@idiom
def eye_and_dirac(torch, nn):
    return nn.init.eye_(torch.zeros(3, 4)), nn.init.dirac_(torch.zeros(2, 2, 3, 3))


@idiom
def init_returns_its_argument(torch, nn):
    w = torch.zeros(3, 3)
    return nn.init.zeros_(w) is w, nn.init.normal_(w) is w


@idiom
def init_on_parameters_keeps_requires_grad(torch, nn):
    layer = nn.Linear(3, 2)
    nn.init.constant_(layer.weight, 0.5)
    nn.init.zeros_(layer.bias)
    return layer.weight, layer.bias


@idiom
def calculate_gain(nn):
    return (nn.init.calculate_gain("relu"), nn.init.calculate_gain("tanh"),
            nn.init.calculate_gain("leaky_relu", 0.2), nn.init.calculate_gain("linear"))


@idiom
def xavier_uniform_bound(torch, nn):
    w = nn.init.xavier_uniform_(torch.zeros(300, 200))
    bound = math.sqrt(6 / (300 + 200))
    return w.abs().max().item() <= bound, w.abs().max().item() > 0.99 * bound


@idiom
def xavier_normal_std_with_gain(torch, nn):
    w = nn.init.xavier_normal_(torch.zeros(400, 300), gain=2.0)
    return abs(w.std().item() / (2.0 * math.sqrt(2 / 700)) - 1) < 0.02


@idiom
def kaiming_uniform_fan_in_relu(torch, nn):
    w = nn.init.kaiming_uniform_(torch.zeros(200, 300), mode="fan_in", nonlinearity="relu")
    bound = math.sqrt(2) * math.sqrt(3 / 300)
    return w.abs().max().item() <= bound, w.abs().max().item() > 0.99 * bound


@idiom
def kaiming_normal_fan_out(torch, nn):
    w = nn.init.kaiming_normal_(torch.zeros(200, 300), mode="fan_out", nonlinearity="relu")
    return abs(w.std().item() / math.sqrt(2 / 200) - 1) < 0.02


@idiom
def kaiming_uniform_conv_fan_in(torch, nn):
    w = nn.init.kaiming_uniform_(torch.zeros(64, 16, 3, 3), a=math.sqrt(5))
    bound = math.sqrt(6 / ((1 + 5) * 16 * 9))
    return w.abs().max().item() <= bound, w.abs().max().item() > 0.99 * bound


@idiom
def normal_and_uniform(torch, nn):
    n = nn.init.normal_(torch.zeros(100000), mean=0.0, std=0.02)
    u = nn.init.uniform_(torch.zeros(10000), a=-0.1, b=0.1)
    return abs(n.std().item() - 0.02) < 0.001, u.min().item() >= -0.1, u.max().item() <= 0.1


@idiom
def trunc_normal_range(torch, nn):
    w = nn.init.trunc_normal_(torch.zeros(100000), mean=0.0, std=1.0, a=-2.0, b=2.0)
    return w.min().item() >= -2.0, w.max().item() <= 2.0, abs(w.std().item() - 0.88) < 0.02


@idiom
def orthogonal_rows(torch, nn):
    w = nn.init.orthogonal_(torch.zeros(3, 5))
    return torch.allclose(w @ w.t(), torch.eye(3), atol=1e-5)


@idiom
def apply_init_function(torch, nn):
    def init_weights(m):
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.weight, 0.1)
            nn.init.zeros_(m.bias)

    model = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 2))
    model.apply(init_weights)
    return model(torch.tensor(X))
