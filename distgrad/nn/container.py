"""Module containers: ``Sequential``, ``ModuleList`` and ``ModuleDict``, with PyTorch's list and
dict behaviour, so their children's parameters register under PyTorch's state_dict keys."""
import operator
from collections import OrderedDict

from .module import Module, _indent


def _position(index, length, what):
    """``index`` as a position in ``range(length)`` (negative counts from the end)."""
    i = operator.index(index)
    if not -length <= i < length:
        raise IndexError(f"index {i} is out of range for a {what} of length {length}")
    return i % length


class Sequential(Module):
    """Modules applied in order; children are named "0", "1", ... (PyTorch's state_dict keys),
    or as an ``OrderedDict`` names them.

    >>> model = Sequential(Linear(784, 128), ReLU(), Linear(128, 10))
    """

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, m in args[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(args):
                if not isinstance(m, Module):
                    raise TypeError(f"Sequential argument {i} is a {type(m).__name__}, not a Module")
                self.add_module(str(i), m)

    def forward(self, input):
        for m in self._modules.values():
            input = m(input)
        return input

    def __getitem__(self, index):
        if isinstance(index, slice):  # keeps the children's names, as PyTorch
            return type(self)(OrderedDict(list(self._modules.items())[index]))
        return list(self._modules.values())[_position(index, len(self), "Sequential")]

    def __setitem__(self, index, module):
        key = list(self._modules)[_position(index, len(self), "Sequential")]
        self.add_module(key, module)

    def __delitem__(self, index):
        keys = list(self._modules)
        for key in keys[index] if isinstance(index, slice) else \
                [keys[_position(index, len(keys), "Sequential")]]:
            del self._modules[key]
        # Renumber so the names stay "0", "1", ... (what state_dict keys expect).
        self._renumber()

    def _renumber(self):
        modules = list(self._modules.values())
        self._modules.clear()
        for i, m in enumerate(modules):
            self._modules[str(i)] = m

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __add__(self, other):
        if not isinstance(other, Sequential):
            raise TypeError(f"can only add a Sequential to a Sequential, got "
                            f"{type(other).__name__}")
        return Sequential(*self, *other)

    def __iadd__(self, other):
        return self.extend(other)

    def append(self, module):
        """Add ``module`` at the end."""
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, sequential):
        """Append every module of ``sequential`` (any iterable of modules)."""
        for m in list(sequential):
            self.append(m)
        return self

    def insert(self, index, module):
        """Put ``module`` before position ``index``."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential.insert needs a Module, got {type(module).__name__}")
        modules = list(self._modules.values())
        n = len(modules)
        if not -n <= index <= n:
            raise IndexError(f"index {index} is out of range for a Sequential of length {n}")
        modules.insert(index + n if index < 0 else index, module)
        self._modules.clear()
        for i, m in enumerate(modules):
            self.add_module(str(i), m)
        return self

    def pop(self, key):
        """Remove and return the module at position ``key``."""
        module = self[key]
        del self[key]
        return module


class ModuleList(Module):
    """A list of modules whose parameters are registered (named "0", "1", ...). It has no
    ``forward``: index or iterate it in your own.

    >>> layers = ModuleList([Linear(4, 4) for _ in range(3)])
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return type(self)(list(self._modules.values())[index])
        return self._modules[str(_position(index, len(self), "ModuleList"))]

    def __setitem__(self, index, module):
        self.add_module(str(_position(index, len(self), "ModuleList")), module)

    def __delitem__(self, index):
        keys = list(self._modules)
        for key in keys[index] if isinstance(index, slice) else \
                [keys[_position(index, len(keys), "ModuleList")]]:
            del self._modules[key]
        Sequential._renumber(self)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        return ModuleList(list(self) + list(other))

    def append(self, module):
        """Add ``module`` at the end."""
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules):
        """Append every module of the iterable ``modules``."""
        if isinstance(modules, (Module, str)) or not hasattr(modules, "__iter__"):
            raise TypeError(f"ModuleList.extend needs an iterable of Modules, got "
                            f"{type(modules).__name__}")
        for m in list(modules):
            self.append(m)
        return self

    def insert(self, index, module):
        """Put ``module`` before position ``index``."""
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(modules):
            self.add_module(str(i), m)

    def pop(self, key):
        """Remove and return the module at position ``key``."""
        module = self[key]
        del self[key]
        return module

    def __repr__(self):
        # PyTorch's compact form: runs of identical children print once, as "(i-j): n x ...".
        if not self._modules:
            return f"{type(self).__name__}()"
        runs = []
        for i, m in enumerate(self):
            text = repr(m)
            if runs and runs[-1][2] == text:
                runs[-1][1] = i
            else:
                runs.append([i, i, text])
        lines = [_indent(f"({a}): {t}" if a == b else f"({a}-{b}): {b - a + 1} x {t}", 2)
                 for a, b, t in runs]
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    """A dict of modules whose parameters are registered under their keys, in insertion order.

    >>> heads = ModuleDict({"cls": Linear(8, 10), "box": Linear(8, 4)})
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def clear(self):
        """Remove every module."""
        self._modules.clear()

    def pop(self, key):
        """Remove ``key`` and return its module."""
        module = self[key]
        del self[key]
        return module

    def keys(self):
        """The keys, in insertion order."""
        return self._modules.keys()

    def items(self):
        """``(key, module)`` pairs, in insertion order."""
        return self._modules.items()

    def values(self):
        """The modules, in insertion order."""
        return self._modules.values()

    def update(self, modules):
        """Add or replace modules from a mapping or an iterable of ``(key, module)`` pairs."""
        pairs = modules.items() if hasattr(modules, "items") else modules
        for j, pair in enumerate(pairs):
            pair = tuple(pair)
            if len(pair) != 2:
                raise ValueError(f"ModuleDict update sequence element {j} has length "
                                 f"{len(pair)}; 2 is required")
            self[pair[0]] = pair[1]
