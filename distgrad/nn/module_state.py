"""What ``Module.state_dict`` and ``Module.load_state_dict`` do: PyTorch's keys and order, and a
load that checks everything before it writes anything."""
from collections import OrderedDict, namedtuple

from .. import backend
from ..autograd.tensor import Tensor


class IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: the keys it did not find, and those it did not use."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class StateDictError(ValueError, RuntimeError):
    """A state_dict that does not fit the module (missing/unexpected keys, wrong shapes).

    A ValueError for distgrad's contract and a RuntimeError as PyTorch raises."""


def _host(value):
    """A NumPy array from a NumPy/CuPy array, a distgrad Tensor or a torch tensor."""
    if isinstance(value, Tensor):
        value = value.array
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        value = value.detach().cpu().numpy()
    return backend.to_numpy(value)


def state_items(module):
    """``(key, tensor)`` of everything state_dict holds, in PyTorch's order: each module's own
    parameters, then its persistent buffers, then its children."""
    for prefix, m in module.named_modules(remove_duplicate=False):
        for name, p in m._parameters.items():
            if p is not None:
                yield (f"{prefix}.{name}" if prefix else name), p
        for name, b in m._buffers.items():
            if b is not None and name not in m._non_persistent:
                yield (f"{prefix}.{name}" if prefix else name), b


def load_state_dict(module, state_dict, strict, assign):
    """Check ``state_dict`` against ``module`` and copy it in (see ``Module.load_state_dict``)."""
    own = OrderedDict(state_items(module))
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    problems = []
    if strict and missing:
        problems.append("missing keys: " + ", ".join(missing))
    if strict and unexpected:
        problems.append("unexpected keys: " + ", ".join(unexpected))
    values = {}
    for key, target in own.items():
        if key not in state_dict:
            continue
        try:
            value = _host(state_dict[key])
        except Exception as exc:
            problems.append(f"{key}: cannot convert {type(state_dict[key]).__name__} to an "
                            f"array ({exc})")
            continue
        if value.shape != target.shape:
            problems.append(f"{key}: shape {value.shape} in the state_dict, "
                            f"{target.shape} in the model")
        elif value.dtype.kind not in "biuf":
            problems.append(f"{key}: dtype {value.dtype} is not numeric")
        else:
            values[key] = value
    if problems:
        raise StateDictError(f"cannot load state_dict into {type(module).__name__}: "
                             + "; ".join(problems))
    for key, value in values.items():
        target = own[key]
        value = backend.to_device(value.astype(target.dtype, copy=False),
                                  backend.device_of(target.array))
        if assign:
            # The module takes the loaded arrays as its storage (sharing memory with the
            # state_dict where no conversion was needed), as PyTorch's assign=True.
            target.array = value
        else:
            # In place, so views of parameters held elsewhere (buckets, optimisers) stay valid.
            target.array[...] = value
    return IncompatibleKeys(missing, unexpected)
