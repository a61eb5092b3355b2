"""``parameters_to_vector`` and ``vector_to_parameters``: all parameters as one flat vector and
back, as ``torch.nn.utils`` (for line searches, weight averaging, second-order methods)."""
from ...autograd.tensor import Tensor
from ...ops import cat, reshape


def _check_tensor(name, value):
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} expected a Tensor, but got: {type(value).__name__}")


def _check_same_device(params):
    devices = {p.device for p in params}
    if len(devices) > 1:
        raise TypeError(f"found parameters on different devices {sorted(map(str, devices))}: "
                        f"move the module to one device first")


def parameters_to_vector(parameters):
    """One 1-D Tensor holding every parameter, flattened, in order (differentiable: gradients
    flow back to the parameters)."""
    params = list(parameters)
    for p in params:
        _check_tensor("parameters_to_vector", p)
    _check_same_device(params)
    return cat([reshape(p, (-1,)) for p in params])


def vector_to_parameters(vec, parameters):
    """Make each parameter a view of its slice of the 1-D ``vec`` (so the parameters share
    ``vec``'s memory afterwards, as in PyTorch)."""
    _check_tensor("vector_to_parameters", vec)
    params = list(parameters)
    _check_same_device(params)
    if vec.ndim != 1 or vec.shape[0] != sum(p.array.size for p in params):
        raise ValueError(f"vector_to_parameters got vec of shape {tuple(vec.shape)} for "
                         f"parameters with {sum(p.array.size for p in params)} elements in all")
    offset = 0
    for p in params:
        n = p.array.size
        p.array = vec.array[offset:offset + n].reshape(p.shape)
        offset += n
