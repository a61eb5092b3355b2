"""``ArrayFunction``: the one mechanism every differentiable operation goes through, and
``Function``, PyTorch's custom-operation API on top of it.

A node of the graph is also the op's *context*: ``forward`` and ``backward`` receive it first
(as ``self`` in distgrad's own ops, as ``ctx`` in PyTorch-style static methods). distgrad's ops
subclass ``ArrayFunction`` and see backend arrays, which keeps a step fast; a user's
``Function`` sees Tensors, as in PyTorch, through an adapter node (``FunctionCtx``).
"""
import itertools
import numbers

import numpy

from .. import backend
from .grad_mode import is_grad_enabled, no_grad
from .tensor import Tensor

# A global creation counter orders nodes: the engine runs higher numbers first, which is a
# valid reverse topological order because a node is always created after its inputs.
_sequence = itertools.count()


class ArrayFunction:
    """Base class of distgrad's own differentiable operations, on backend arrays.

    Subclass with ``forward(ctx, *arrays, **kwargs) -> array`` and
    ``backward(ctx, grad_output) -> grad or tuple of grads`` (``None`` for inputs that need no
    gradient; check ``ctx.needs_input_grad[i]`` to skip work). Forward and backward see backend
    arrays (NumPy or CuPy), never Tensors: no wrapper objects on the hot path. Call with
    ``MyFn.apply(*tensors, **kwargs)``. Users write ``Function`` instead, which sees Tensors.

    >>> class Cube(ArrayFunction):
    ...     def forward(self, x):
    ...         self.save_for_backward(x)
    ...         return x ** 3
    ...     def backward(self, gy):
    ...         x, = self.saved_tensors
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
                arrays.append(x.array)
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


class FunctionCtx(ArrayFunction):
    """The ``ctx`` a user's ``Function`` receives, and its node in the graph (``grad_fn``).

    It keeps what ``forward`` saves and any attribute set on it (``ctx.k = 3``) until backward
    has run through it.
    """

    def save_for_backward(self, *tensors):
        """Keep Tensors (or None) for ``backward``, where ``ctx.saved_tensors`` returns them."""
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save Tensors or None, got a "
                                f"{type(t).__name__}: keep other values as ctx attributes")
        self._saved = tensors

    def mark_non_differentiable(self, *tensors):
        """Declare outputs that have no gradient (they come back with ``requires_grad=False``)."""
        self._non_differentiable = {id(t.array) for t in tensors}

    def set_materialize_grads(self, value):
        """With True (the default), ``backward`` receives zeros rather than None for an output
        without a gradient; one-output Functions always receive a gradient, so this only records
        the choice."""
        self.materialize_grads = bool(value)

    def name(self):
        """The name PyTorch shows for this node, e.g. ``MyReLUBackward``."""
        return f"{self._function.__name__}Backward"

    def __repr__(self):
        return f"<{self.name()} object>"

    def backward(self, gy):
        # The engine hands arrays; the user's backward takes and returns Tensors, without
        # recording (as PyTorch runs backward without create_graph).
        layout = self.__dict__.get("_layout")
        if layout is None:
            grad_outputs = (Tensor._from_op(gy, None),)
        else:  # several outputs: gy packs their gradients (see _OutputSlot)
            xp = backend.get_array_module(gy)
            grad_outputs = tuple(
                None if shape is None else Tensor._from_op(
                    gy[offset:offset + size].reshape(shape).astype(dtype, copy=False)
                    if offset is not None else xp.zeros(shape, dtype), None)
                for offset, size, shape, dtype in layout)
        with no_grad():
            grads = self._function.backward(self, *grad_outputs)
        if not isinstance(grads, (tuple, list)):
            grads = (grads,)
        return tuple(g.array if isinstance(g, Tensor) else g for g in grads)


class Function:
    """Base class of custom differentiable operations, as PyTorch's ``torch.autograd.Function``.

    Subclass with static methods ``forward(ctx, *args, **kwargs)`` returning a Tensor (or a
    tuple of them) and ``backward(ctx, *grad_outputs)`` — one gradient per output in, one per
    ``forward`` argument out (None where there is none); both receive and return Tensors and
    run without recording. Outputs passed to ``ctx.mark_non_differentiable`` come back without
    ``requires_grad``, and their gradient in ``backward`` is zeros. In ``forward``,
    ``ctx.save_for_backward(*tensors)`` keeps Tensors that ``ctx.saved_tensors`` gives back in
    ``backward``; ``ctx.needs_input_grad[i]`` says whether argument i needs a gradient. PyTorch's
    newer style — ``forward(*args)`` without ctx plus ``setup_context(ctx, inputs, output)`` —
    works too. Call it as ``MyFn.apply(*args)``.

    >>> class MyReLU(Function):
    ...     @staticmethod
    ...     def forward(ctx, input):
    ...         ctx.save_for_backward(input)
    ...         return input.clamp(min=0)
    ...     @staticmethod
    ...     def backward(ctx, grad_output):
    ...         input, = ctx.saved_tensors
    ...         grad_input = grad_output.clone()
    ...         grad_input[input < 0] = 0
    ...         return grad_input
    >>> y = MyReLU.apply(distgrad.randn(3, requires_grad=True))
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        """Compute the output Tensor from the inputs (override)."""
        raise TypeError("a Function subclass must define forward()")

    @staticmethod
    def setup_context(ctx, inputs, output):
        """Save what backward needs, when ``forward`` takes no ctx (override instead of
        saving in forward)."""
        raise TypeError("setup_context() is only called for Functions that override it")

    @staticmethod
    def backward(ctx, *grad_outputs):
        """Return the gradient(s) with respect to the inputs (override)."""
        raise TypeError("a Function subclass must define backward() to be differentiated")

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run ``forward`` on the arguments and, when a Tensor argument requires a gradient,
        record the call in the graph so backward reaches ``backward``."""
        ctx = FunctionCtx.__new__(FunctionCtx)
        ctx._function = cls
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        record = any(needs) and is_grad_enabled()
        ctx.needs_input_grad = needs
        with no_grad():
            if cls.setup_context is not Function.setup_context:
                out = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, out)
            else:
                out = cls.forward(ctx, *args, **kwargs)
        if isinstance(out, (tuple, list)):
            return _several_outputs(ctx, out, args, needs, record)
        array = _one_array(cls, out)
        if not record or id(array) in ctx.__dict__.get("_non_differentiable", ()):
            return Tensor._from_op(array, None)
        ctx._edges = tuple([(a.grad_fn or a) if n else None for a, n in zip(args, needs)])
        ctx._seq = next(_sequence)
        ctx._shape = array.shape
        return Tensor._from_op(array, ctx)


class _OutputSlot(ArrayFunction):
    """One output of a Function with several: its node places the output's gradient into the
    Function's flat gradient (``ctx._shape`` long), where the engine adds the outputs' parts
    up before running the Function's backward once."""

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        flat = xp.zeros(self._total, self._dtype)
        flat[self._offset:self._offset + gy.size] = gy.reshape(-1)
        return flat


def _several_outputs(ctx, outputs, args, needs, record):
    """The Tensors a Function with several outputs returns, each recorded through an
    ``_OutputSlot`` that leads back to ``ctx``."""
    skip = ctx.__dict__.get("_non_differentiable", ())
    arrays = [o.array if isinstance(o, Tensor) else o for o in outputs]
    differentiable = [record and isinstance(o, Tensor) and id(a) not in skip and a.dtype.kind in "fc"
                      for o, a in zip(outputs, arrays)]
    if not any(differentiable):
        return tuple(Tensor._from_op(a, None) if isinstance(o, Tensor) else o
                     for o, a in zip(outputs, arrays))
    xp = backend.get_array_module(next(a for a, d in zip(arrays, differentiable) if d))
    dtype = xp.result_type(*[a for a, d in zip(arrays, differentiable) if d])
    layout, total = [], 0
    for o, a, d in zip(outputs, arrays, differentiable):
        if not isinstance(o, Tensor):
            layout.append((None, 0, None, None))
        elif d:
            layout.append((total, a.size, a.shape, a.dtype))
            total += a.size
        else:  # its gradient is zeros, as PyTorch materialises it
            layout.append((None, 0, a.shape, a.dtype))
    ctx._layout = layout
    ctx._edges = tuple([(a.grad_fn or a) if n else None for a, n in zip(args, needs)])
    ctx._seq = next(_sequence)
    ctx._shape = (total,)
    results = []
    for o, a, d, (offset, _, _, _) in zip(outputs, arrays, differentiable, layout):
        if not d:
            results.append(Tensor._from_op(a, None) if isinstance(o, Tensor) else o)
            continue
        slot = _OutputSlot.__new__(_OutputSlot)
        slot.needs_input_grad = (True,)
        slot._edges, slot._seq, slot._shape = (ctx,), next(_sequence), a.shape
        slot._offset, slot._total, slot._dtype = offset, total, dtype
        results.append(Tensor._from_op(a, slot))
    return tuple(results)


def once_differentiable(fn):
    """Decorator PyTorch code puts on ``backward``. distgrad's backward never records a graph,
    so every Function is once-differentiable already: this returns ``fn`` unchanged."""
    return fn


def _one_array(cls, out):
    """The array a ``forward`` returned, or a TypeError that says what it returned instead."""
    if isinstance(out, Tensor):
        return out.array
    if isinstance(out, numpy.ndarray) or backend.get_array_module(out) is not numpy:
        return out
    if isinstance(out, (numbers.Number, numpy.generic)):
        return numpy.asarray(out)
    raise TypeError(f"{cls.__name__}.forward returned a {type(out).__name__}; expected one array "
                    "(or Tensor): an ArrayFunction has exactly one output (a Function may return "
                    "a tuple of Tensors)")
