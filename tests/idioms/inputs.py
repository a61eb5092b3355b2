"""The input numbers every idiom shares, and helpers that give modules fixed weights.

Inputs are NumPy arrays, so both libraries start from the very same numbers; helpers are written
in PyTorch's API and take the library's modules as arguments, like the idioms themselves.
"""
import numpy

_rng = numpy.random.default_rng(0)
X = _rng.standard_normal((4, 5)).astype(numpy.float32)        # a batch: 4 samples, 5 features
Y = _rng.standard_normal((4, 3)).astype(numpy.float32)        # regression targets for X
W = _rng.standard_normal((5, 3)).astype(numpy.float32)        # a right-hand matrix for X
POSITIVE = _rng.uniform(0.5, 2.0, (4, 5)).astype(numpy.float32)
V = numpy.array([3.0, -1.0, 2.0, 0.5, -2.0], numpy.float32)   # distinct values, no zeros
M = numpy.array([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0], [4.0, 6.0, 9.0]], numpy.float32)
LOGITS = _rng.standard_normal((6, 4)).astype(numpy.float32)   # 6 samples, 4 classes
LABELS = numpy.array([0, 3, 1, 1, 2, 0], numpy.int64)
PROBS = _rng.dirichlet(numpy.ones(4), 6).astype(numpy.float32)  # soft targets, rows sum to 1
BINARY = numpy.array([[1, 0, 1, 1], [0, 0, 1, 0]], numpy.float32)
SCORES = _rng.standard_normal((2, 4)).astype(numpy.float32)
IMAGES = _rng.standard_normal((2, 3, 6, 6)).astype(numpy.float32)  # NCHW
DIGITS = _rng.uniform(0, 1, (2, 1, 28, 28)).astype(numpy.float32)  # MNIST-shaped batch
BATCH3D = _rng.standard_normal((2, 3, 4)).astype(numpy.float32)
TOKENS = numpy.array([[1, 2, 0], [3, 0, 0]], numpy.int64)
FEATURES = _rng.standard_normal((10, 3)).astype(numpy.float32)  # a small data set
TARGETS = numpy.arange(10, dtype=numpy.int64) % 3


def deterministic(torch, module, seed=0):
    """``module`` with every floating-point parameter and buffer set to fixed numbers.

    Initial weights are random draws, and the libraries' random streams differ, so idioms that
    compare a module's outputs load fixed weights through ``load_state_dict`` first. Weights are
    scaled by 1/sqrt(fan_in) to keep activations in a sensible range.
    """
    state = {}
    for i, (name, value) in enumerate(module.state_dict().items()):
        dtype = str(value.dtype).rsplit(".", 1)[-1]
        if "float" not in dtype:
            state[name] = value
            continue
        shape = tuple(value.shape)
        low, high = (0.5, 1.5) if name.endswith("running_var") else (-1.0, 1.0)
        array = numpy.random.default_rng(seed + i).uniform(low, high, shape)
        if len(shape) > 1:
            array /= numpy.sqrt(numpy.prod(shape[1:]))
        state[name] = torch.tensor(array.astype(dtype))
    module.load_state_dict(state)
    return module


def fit(torch, nn, make_optimizer, steps=3):
    """Weights of a ``Linear(5, 3)`` after ``steps`` full-batch steps of MSE regression from
    fixed weights, with the optimizer ``make_optimizer(model.parameters())``."""
    model = deterministic(torch, nn.Linear(5, 3))
    optimizer = make_optimizer(model.parameters())
    x, y = torch.tensor(X), torch.tensor(Y)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        optimizer.step()
    return model.weight, model.bias


def lr_sequence(torch, optim, make_scheduler, steps=12, metrics=None):
    """The learning rate before and after each of ``steps`` scheduler steps, for an SGD with
    lr=0.1 and momentum=0.9; ``metrics`` feeds ``ReduceLROnPlateau``-style schedulers."""
    w = torch.zeros(2, requires_grad=True)
    optimizer = optim.SGD([w], lr=0.1, momentum=0.9)
    scheduler = make_scheduler(optimizer)
    lrs = [optimizer.param_groups[0]["lr"]]
    for step in range(steps):
        optimizer.step()
        if metrics is None:
            scheduler.step()
        else:
            scheduler.step(metrics[step])
        lrs.append(optimizer.param_groups[0]["lr"])
    return lrs
