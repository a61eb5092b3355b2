"""``nn`` layers and the functional forms scripts call in ``forward``, from fixed weights."""
from collections import OrderedDict

import numpy

from .inputs import DIGITS, IMAGES, TOKENS, X, deterministic
from . import category

idiom = category("nn layers")


def _forward_backward(torch, layer, array):
    """Output of ``layer`` on ``array``, and the gradients of its weights and input."""
    x = torch.tensor(array, requires_grad=True)
    out = layer(x)
    (out * out).sum().backward()
    return out, x.grad, [p.grad for p in layer.parameters()]


@idiom
def linear(torch, nn):
    return _forward_backward(torch, deterministic(torch, nn.Linear(5, 3)), X)


@idiom
def linear_without_bias(torch, nn):
    layer = deterministic(torch, nn.Linear(5, 2, bias=False))
    return layer(torch.tensor(X)), layer.bias is None


@idiom
def linear_shapes(torch, nn):
    layer = nn.Linear(5, 3)
    return layer.weight.shape, layer.bias.shape, layer.in_features, layer.out_features


@idiom
def conv2d(torch, nn):
    return _forward_backward(torch, deterministic(torch, nn.Conv2d(3, 4, 3)), IMAGES)


@idiom
def conv2d_stride_padding_no_bias(torch, nn):
    conv = deterministic(torch, nn.Conv2d(3, 2, kernel_size=3, stride=2, padding=1, bias=False))
    return conv(torch.tensor(IMAGES)), conv.weight.shape


@idiom
def pooling_layers(torch, nn):
    x = torch.tensor(IMAGES)
    return nn.MaxPool2d(2)(x), nn.MaxPool2d(3, stride=2, padding=1)(x), nn.AvgPool2d(2)(x)


@idiom
def adaptive_avg_pool(torch, nn):
    x = torch.tensor(IMAGES)
    return nn.AdaptiveAvgPool2d((1, 1))(x), nn.AdaptiveAvgPool2d(1)(x).shape


@idiom
def functional_conv_and_pool(torch, F):
    x, w = torch.tensor(IMAGES), torch.tensor(IMAGES[:, :, :3, :3].copy())
    y = F.conv2d(x, w, padding=1)
    return y, F.max_pool2d(y, 2), F.avg_pool2d(y, kernel_size=2, stride=2), F.relu(y).mean()


@idiom
def functional_linear_and_dropout_eval(torch, F):
    x = torch.tensor(X)
    w = torch.tensor(X[:3])
    return F.linear(x, w), F.linear(x, w, torch.ones(3)), F.dropout(x, 0.5, training=False)


@idiom
def batchnorm1d_training_and_running_stats(torch, nn):
    bn = nn.BatchNorm1d(5)
    out = bn(torch.tensor(X))
    return out, bn.running_mean, bn.running_var, bn.num_batches_tracked


@idiom
def batchnorm2d_eval_uses_running_stats(torch, nn):
    bn = deterministic(torch, nn.BatchNorm2d(3))
    bn.eval()
    return bn(torch.tensor(IMAGES))


@idiom
def batchnorm2d_gradients(torch, nn):
    return _forward_backward(torch, deterministic(torch, nn.BatchNorm2d(3)), IMAGES)


@idiom
def dropout_eval_is_identity(torch, nn):
    drop = nn.Dropout(0.5)
    drop.eval()
    return drop(torch.tensor(X))


@idiom
def dropout_training_statistics(torch, nn):
    y = nn.Dropout(0.25)(torch.ones(100000))
    kept = y[y != 0]
    return (abs((y == 0).float().mean().item() - 0.25) < 0.01,
            abs(kept.min().item() - 4 / 3) < 1e-6, abs(kept.max().item() - 4 / 3) < 1e-6)


@idiom
def dropout2d_zeroes_whole_channels(torch, nn):
    y = nn.Dropout2d(0.5)(torch.ones(8, 16, 3, 3))
    per_channel = y.sum(dim=(2, 3))
    return bool(((per_channel == 0) | (per_channel == 18)).all()), y.shape


@idiom
def dropout2d_eval(torch, nn):
    return nn.Dropout2d(0.3).eval()(torch.tensor(IMAGES))


@idiom
def activations(torch, nn):
    x = torch.tensor(X)
    return (nn.ReLU()(x), nn.Sigmoid()(x), nn.Tanh()(x), nn.LeakyReLU(0.1)(x), nn.ELU()(x),
            nn.GELU()(x), nn.SiLU()(x), nn.Softplus()(x), nn.Hardtanh()(x))


@idiom
def activation_options(torch, nn):
    x = torch.tensor(X) * 3
    return (nn.LeakyReLU(negative_slope=0.2)(x), nn.ELU(alpha=0.5)(x),
            nn.GELU(approximate="tanh")(x), nn.Softplus(beta=2)(x), nn.Hardtanh(-2, 2)(x))


@idiom
def relu_in_place_module(torch, nn):
    x = torch.tensor(X)
    y = nn.ReLU(inplace=True)(x)
    return y, x


@idiom
def functional_activations(torch, F):
    x = torch.tensor(X)
    return (F.relu(x), F.leaky_relu(x, 0.1), F.elu(x), F.gelu(x), F.silu(x), F.softplus(x),
            F.sigmoid(x), F.tanh(x), F.hardtanh(x))


@idiom
def activation_gradients(torch, nn):
    return [_forward_backward(torch, layer, X)[1]
            for layer in (nn.LeakyReLU(0.1), nn.ELU(), nn.GELU(), nn.SiLU(), nn.Softplus())]


@idiom
def prelu(torch, nn):
    return _forward_backward(torch, nn.PReLU(), X)


@idiom
def layer_norm(torch, nn):
    return _forward_backward(torch, nn.LayerNorm(5), X)


@idiom
def layer_norm_fixed_weights(torch, nn):
    return deterministic(torch, nn.LayerNorm([6, 6]))(torch.tensor(IMAGES))


@idiom
def group_norm(torch, nn):
    return _forward_backward(torch, nn.GroupNorm(2, 6), numpy.tile(IMAGES, (1, 2, 1, 1)))


@idiom
def embedding_lookup_and_grad(torch, nn):
    emb = deterministic(torch, nn.Embedding(5, 3))
    out = emb(torch.tensor(TOKENS))
    out.sum().backward()
    return out, emb.weight.grad


@idiom
def embedding_padding_idx(torch, nn):
    emb = nn.Embedding(5, 3, padding_idx=0)
    out = emb(torch.tensor(TOKENS))
    out.sum().backward()
    return emb.weight[0], emb.weight.grad[0], out.shape


@idiom
def identity_flatten_unflatten(torch, nn):
    x = torch.tensor(IMAGES)
    unflatten = nn.Unflatten(1, (2, 9))
    return nn.Identity()(x), nn.Flatten()(x).shape, unflatten(torch.zeros(4, 18)).shape


@idiom
def softmax_modules(torch, nn):
    x = torch.tensor(X)
    return nn.Softmax(dim=1)(x), nn.LogSoftmax(dim=1)(x)


@idiom
def sequential_forward_and_indexing(torch, nn):
    model = deterministic(torch, nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 2)))
    return model(torch.tensor(X)), len(model), type(model[0]).__name__, model[-1].out_features


@idiom
def sequential_ordered_dict_names(torch, nn):
    model = nn.Sequential(OrderedDict([("fc1", nn.Linear(5, 4)), ("act", nn.ReLU()),
                                       ("fc2", nn.Linear(4, 2))]))
    return list(model.state_dict().keys()), type(model.fc1).__name__


@idiom
def module_list_iteration(torch, nn):
    layers = nn.ModuleList([nn.Linear(5, 5) for _ in range(3)])
    model = nn.Module()
    model.layers = layers
    return len(layers), len(list(model.parameters())), type(layers[1]).__name__


@idiom
def module_dict(torch, nn):
    heads = nn.ModuleDict({"a": nn.Linear(5, 2), "b": nn.Linear(5, 3)})
    heads = deterministic(torch, heads)
    return list(heads.keys()), heads["b"](torch.tensor(X)), len(list(heads.parameters()))


@idiom
def parameter_list(torch, nn):
    params = nn.ParameterList([nn.Parameter(torch.ones(2)) for _ in range(3)])
    model = nn.Module()
    model.params = params
    return len(params), len(list(model.parameters())), params[0]


@idiom
def mnist_example_net(torch, nn, F):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, 3, 1)
            self.conv2 = nn.Conv2d(4, 8, 3, 1)
            self.dropout1 = nn.Dropout(0.25)
            self.fc1 = nn.Linear(1152, 16)
            self.fc2 = nn.Linear(16, 10)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.relu(self.conv2(x))
            x = F.max_pool2d(x, 2)
            x = self.dropout1(x)
            x = torch.flatten(x, 1)
            x = F.relu(self.fc1(x))
            return F.log_softmax(self.fc2(x), dim=1)

    model = deterministic(torch, Net())
    model.eval()
    return model(torch.tensor(DIGITS))


@idiom
def one_hot(torch, F):
    return F.one_hot(torch.tensor([0, 2, 1]), num_classes=4), F.one_hot(torch.tensor([1, 0]))


@idiom
def functional_softmax_with_dim(torch, F):
    x = torch.tensor(X)
    return F.softmax(x, dim=1), F.log_softmax(x, dim=-1), F.softmax(x, dim=0)
