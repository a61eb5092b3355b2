"""The idiom table: everyday PyTorch, one small function per idiom, grouped by category.

An idiom is written as a PyTorch user writes it; its parameters name the modules it uses
(``torch``, ``nn``, ``F``, ``optim``, ``data``, ``datasets``, ``transforms``, ``dist``, ``DDP``) and
``tests/compat_idioms.py`` passes PyTorch's or distgrad's. It returns what a script would go on
to use (a Tensor, a number, a tuple of them...), and that result is what gets compared.
"""
import inspect
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Idiom:
    """One idiom: its category, name (the function's), body, and whether it must raise."""
    category: str
    name: str
    fn: Callable
    raises: bool = False

    @property
    def params(self):
        return tuple(inspect.signature(self.fn).parameters)


IDIOMS = []


def category(title):
    """The decorator that adds idioms to the table under ``title``: ``@idiom`` or
    ``@idiom(raises=True)`` for an idiom whose point is the exception PyTorch raises."""
    def idiom(fn=None, *, raises=False):
        def register(fn):
            IDIOMS.append(Idiom(title, fn.__name__, fn, raises))
            return fn
        return register(fn) if fn is not None else register
    return idiom


# Imported for their registrations; the order is the order of the report.
from . import (data_grad, autograd_function, functions, dtypes_devices,  # noqa: E402,F401
               tensor_methods, inplace, nn_layers, losses, init, modules, optimizers,
               schedulers, data, save_load, errors, distributed)
