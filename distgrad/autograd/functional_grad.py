"""``autograd.grad``: gradients of outputs with respect to chosen inputs, returned rather than
accumulated into ``.grad`` (PyTorch's ``torch.autograd.grad``), and ``backward(inputs=...)``."""
from .. import backend
from .engine import _finish_leaf, run_backward
from .tensor import Tensor


def _as_list(x):
    return [x] if isinstance(x, Tensor) else list(x)


def _collect(outputs, inputs, grad_outputs, retain_graph, on_leaf):
    """Run backward from every output; ``on_leaf(i, leaf, grad)`` gets input i's gradient.
    Non-leaf inputs are reached through a temporary hook on the node that made them."""
    position = {id(t): i for i, t in enumerate(inputs)}
    handles = []
    for i, t in enumerate(inputs):
        if t.grad_fn is not None:
            handles.append(t.register_hook(lambda g, i=i, t=t: on_leaf(i, t, g.array)))

    def finish(leaf, grad, owned):
        i = position.get(id(leaf))
        if i is not None:
            on_leaf(i, leaf, grad if owned else grad.copy())
    try:
        for out, seed in zip(outputs, grad_outputs):
            run_backward(out, seed, retain_graph, finish_leaf=finish)
    finally:
        for handle in handles:
            handle.remove()


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=None, materialize_grads=False):
    """The gradients of ``outputs`` with respect to ``inputs``, as a tuple of Tensors; no
    ``.grad`` is touched.

    Args:
        outputs: a Tensor or a sequence of Tensors to differentiate.
        inputs: a Tensor or a sequence of Tensors (leaves or intermediate results).
        grad_outputs: the gradient seeding each output (None: ones, for one-element outputs).
        retain_graph: keep the graph for another backward (default: ``create_graph``).
        create_graph: must be False (distgrad's backward is not recorded).
        allow_unused: return None for an input the outputs do not depend on, instead of
            raising; ``materialize_grads=True`` returns zeros there instead.

    >>> x = distgrad.tensor([1.0, 2.0], requires_grad=True)
    >>> distgrad.autograd.grad((x * x).sum(), x)
    (tensor([2., 4.]),)
    """
    if create_graph:
        raise RuntimeError("autograd.grad(create_graph=True): distgrad computes first-order "
                           "gradients only (its backward is not recorded)")
    outputs, inputs = _as_list(outputs), _as_list(inputs)
    seeds = [None] * len(outputs) if grad_outputs is None else _as_list(grad_outputs)
    if len(seeds) != len(outputs):
        raise RuntimeError(f"grad_outputs has {len(seeds)} entries for {len(outputs)} outputs")
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"input {i} of autograd.grad does not require grad")
    found = [None] * len(inputs)

    def keep(i, leaf, g):
        found[i] = g if found[i] is None else found[i] + g
    _collect(outputs, inputs, seeds, bool(retain_graph), keep)
    result = []
    for i, (t, g) in enumerate(zip(inputs, found)):
        if g is None:
            if materialize_grads:
                g = backend.get_array_module(t.array).zeros_like(t.array)
            elif not allow_unused:
                raise RuntimeError(f"one of the differentiated Tensors (input {i}) appears to not "
                                   "have been used in the graph: pass allow_unused=True if this "
                                   "is the desired behavior")
        result.append(None if g is None else Tensor._from_op(g, None))
    return tuple(result)


def backward_into(tensor, gradient, retain_graph, inputs):
    """``tensor.backward(inputs=...)``: accumulate into the ``.grad`` of ``inputs`` only."""
    inputs = _as_list(inputs)
    if not inputs:
        raise RuntimeError("backward(inputs=...) needs at least one input")

    def accumulate(i, leaf, g):
        if leaf.grad_fn is None:
            _finish_leaf(leaf, g, True)
        elif leaf._grad is None:
            leaf._grad = Tensor._from_op(g.copy(), None)
        else:
            leaf._grad.array += g
    _collect([tensor], inputs, [gradient], retain_graph, accumulate)
