"""``Function``: the one mechanism every differentiable operation goes through.

A Function instance is also the op's *context* and its node in the graph: ``forward`` and
``backward`` receive it first (as ``self`` in internal ops, as ``ctx`` in PyTorch-style
static methods), so both styles share one engine.
"""
import itertools
import numbers

import numpy

from .. import backend
from .grad_mode import is_grad_enabled
from .tensor import Tensor

# A global creation counter orders nodes: the engine runs higher numbers first, which is a
# valid reverse topological order because a node is always created after its inputs.
_sequence = itertools.count()


class Function:
    """Base class of differentiable operations.

    Subclass with ``forward(ctx, *arrays, **kwargs) -> array`` and
    ``backward(ctx, grad_output) -> grad or tuple of grads`` (``None`` for inputs that need no
    gradient; check ``ctx.needs_input_grad[i]`` to skip work). Forward and backward see backend
    arrays (NumPy or CuPy), never Tensors. Call with ``MyFn.apply(*tensors, **kwargs)``.

    >>> class Cube(Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x ** 3
    ...     @staticmethod
    ...     def backward(ctx, gy):
    ...         x, = ctx.saved_tensors
    ...         return 3 * x ** 2 * gy
    >>> y = Cube.apply(distgrad.tensor([2.0], requires_grad=True))
    """

    # Attributes the engine needs; everything else a node holds (saved arrays, shapes) lives in
    # its __dict__ and is dropped in one go once backward has run.
    needs_input_grad = ()

    def save_for_backward(self, *arrays):
        """Keep arrays for ``backward``; they are released as soon as this node's backward ran."""
        self._saved = arrays

    @property
    def saved_tensors(self):
        """The arrays given to ``save_for_backward``."""
        try:
            return self._saved
        except AttributeError:
            raise RuntimeError(
                f"{type(self).__name__}: saved arrays are gone — backward already ran through this "
                "graph; call backward(retain_graph=True) the first time to run it twice") from None

    def forward(self, *arrays, **kwargs):
        """Compute the output array from input arrays (override)."""
        raise TypeError(f"{type(self).__name__} must define forward()")

    def backward(self, grad_output):
        """Return the gradient(s) with respect to the inputs (override)."""
        raise TypeError(f"{type(self).__name__} is not differentiable: it defines no backward()")

    @classmethod
    def apply(cls, *inputs, **kwargs):
        """Run ``forward`` on the inputs' arrays and, when any input needs a gradient, record
        the node in the graph. Non-Tensor inputs (Python numbers, arrays) pass through as is."""
        node = cls.__new__(cls)
        arrays = []
        needs = []
        record = False
        for x in inputs:
            if isinstance(x, Tensor):
                arrays.append(x.data)
                needs.append(x.requires_grad)
                record = record or x.requires_grad
            else:
                arrays.append(x)
                needs.append(False)
        if record and is_grad_enabled():
            node.needs_input_grad = tuple(needs)
            out = cls.forward(node, *arrays, **kwargs)
            if type(out) is not numpy.ndarray:
                out = _one_array(cls, out)
            # Edges: for each input, the node that produced it, the leaf Tensor to accumulate
            # into, or None when no gradient flows there.
            node._edges = tuple([(x.grad_fn or x) if n else None for x, n in zip(inputs, needs)])
            node._seq = next(_sequence)
            node._shape = out.shape  # the engine checks the gradients it receives against it
            return Tensor._from_op(out, node)
        node.needs_input_grad = (False,) * len(needs)
        out = cls.forward(node, *arrays, **kwargs)
        return Tensor._from_op(out if type(out) is numpy.ndarray else _one_array(cls, out), None)


def _one_array(cls, out):
    """The array a ``forward`` returned, or a TypeError that says what it returned instead."""
    if isinstance(out, Tensor):
        return out.data
    if isinstance(out, numpy.ndarray) or backend.get_array_module(out) is not numpy:
        return out
    if isinstance(out, (numbers.Number, numpy.generic)):
        return numpy.asarray(out)
    raise TypeError(f"{cls.__name__}.forward returned a {type(out).__name__}; a Function returns "
                    "exactly one array (write an operation with several outputs as several "
                    "Functions)")
