"""``ParameterList`` and ``ParameterDict``: containers whose Tensors register as parameters
(named "0", "1", ... or by key), so ``parameters()``, optimisers and state_dict find them."""
from ..autograd.tensor import Tensor
from .container import _position
from .module import Module
from .parameter import Parameter


def _as_parameter(value):
    # As PyTorch: a plain Tensor is wrapped (sharing its memory); anything else is kept as is.
    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        return Parameter(value)
    return value


def _describe(value):
    if isinstance(value, Tensor):
        kind = "Parameter containing" if isinstance(value, Parameter) else "Tensor"
        size = "x".join(str(n) for n in value.shape)
        device = "" if value.device == "cpu" else f" ({value.device})"
        return f"{kind}: [distgrad.{value.dtype.name} of size {size}{device}]"
    return f"Object of type: {type(value).__name__}"


def _lines(pairs):
    # One "(key): description" line each, already indented: Module.__repr__ prints a single
    # line inline and several one per line, which gives PyTorch's exact layout.
    return "\n".join(f"  ({key}): {_describe(v)}" for key, v in pairs)


class ParameterList(Module):
    """A list of parameters (plain Tensors are wrapped as Parameters).

    >>> params = ParameterList([Parameter(distgrad.randn(4, 4)) for _ in range(3)])
    """

    def __init__(self, values=None):
        super().__init__()
        object.__setattr__(self, "_size", 0)
        if values is not None:
            self.extend(values)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return type(self)([self[i] for i in range(len(self))[index]])
        return getattr(self, str(_position(index, len(self), "ParameterList")))

    def __setitem__(self, index, value):
        setattr(self, str(_position(index, len(self), "ParameterList")), _as_parameter(value))

    def __len__(self):
        return self._size

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __iadd__(self, values):
        return self.extend(values)

    def append(self, value):
        """Add ``value`` at the end."""
        object.__setattr__(self, "_size", self._size + 1)
        self[self._size - 1] = value
        return self

    def extend(self, values):
        """Append every item of the iterable ``values``."""
        if isinstance(values, Tensor) or not hasattr(values, "__iter__"):
            raise TypeError(f"ParameterList.extend needs an iterable, got {type(values).__name__}")
        for v in list(values):
            self.append(v)
        return self

    def extra_repr(self):
        return _lines(enumerate(self))


class ParameterDict(Module):
    """A dict of parameters (plain Tensors are wrapped as Parameters), in insertion order."""

    def __init__(self, parameters=None):
        super().__init__()
        object.__setattr__(self, "_keys", {})
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key):
        if key not in self._keys:
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key, value):
        if not isinstance(key, str):
            raise TypeError(f"ParameterDict keys must be strings, got {type(key).__name__}")
        self._keys[key] = None
        setattr(self, key, _as_parameter(value))

    def __delitem__(self, key):
        del self._keys[key]
        delattr(self, key)

    def __len__(self):
        return len(self._keys)

    def __iter__(self):
        return iter(list(self._keys))

    def __contains__(self, key):
        return key in self._keys

    def keys(self):
        """The keys, in insertion order."""
        return list(self._keys)

    def values(self):
        """The parameters, in insertion order."""
        return [self[k] for k in self._keys]

    def items(self):
        """``(key, parameter)`` pairs, in insertion order."""
        return [(k, self[k]) for k in self._keys]

    def get(self, key, default=None):
        """The parameter under ``key``, or ``default``."""
        return self[key] if key in self._keys else default

    def pop(self, key):
        """Remove ``key`` and return its parameter."""
        value = self[key]
        del self[key]
        return value

    def clear(self):
        """Remove every parameter."""
        for key in list(self._keys):
            del self[key]

    def update(self, parameters):
        """Add or replace entries from a mapping or an iterable of ``(key, value)`` pairs."""
        pairs = parameters.items() if hasattr(parameters, "items") else parameters
        for key, value in pairs:
            self[key] = value

    def extra_repr(self):
        return _lines(self.items())
