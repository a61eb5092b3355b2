"""The backward engine: an iterative walk of the graph in reverse creation order.

No recursion (a 10,000-op chain works), each node's saved arrays are released right after its
backward, and a leaf's ``.grad`` is written as soon as its last contribution has arrived — so
the last layer's parameters are final first, which is what lets communication start early.
"""
import heapq

from numpy import ndarray

from .. import backend
from .tensor import Tensor

_callbacks = None  # list while a backward pass runs, else None


def queue_callback(fn):
    """Run ``fn()`` once the current backward pass has processed the whole graph, before
    ``backward()`` returns (how data-parallel training waits for its last all-reduce)."""
    if _callbacks is None:
        raise RuntimeError("queue_callback() can only be called while backward() is running")
    _callbacks.append(fn)


def _count_leaf_edges(root):
    """How many gradient contributions each leaf will receive from the graph under ``root``."""
    counts = {}
    seen = {id(root)}
    stack = [root]
    while stack:
        node = stack.pop()
        edges = node.__dict__.get("_edges")
        if edges is None:
            raise RuntimeError(
                f"backward through {type(node).__name__} a second time: its saved arrays were "
                "released after the first backward; pass backward(retain_graph=True) the first "
                "time to run it twice")
        for edge in edges:
            if edge is None:
                continue
            if isinstance(edge, Tensor):
                counts[edge] = counts.get(edge, 0) + 1
            elif id(edge) not in seen:
                seen.add(id(edge))
                stack.append(edge)
    return counts


def _as_gradient(node, i, gx):
    """A gradient a backward returned that is not exactly a NumPy array: a Tensor's data, a
    CuPy array, an ndarray subclass or a NumPy scalar pass; anything else is the Function's
    mistake."""
    if isinstance(gx, Tensor):
        return gx.array
    if isinstance(gx, ndarray) or (backend.cupy is not None and isinstance(gx, backend.cupy.ndarray)):
        return gx
    if isinstance(gx, backend.numpy.generic):  # NumPy turns 0-d results into scalars
        return backend.numpy.asarray(gx)
    raise RuntimeError(f"{type(node).__name__}.backward returned a {type(gx).__name__} as the "
                       f"gradient of input {i}; return an array (or None)")


def _bad_gradient(node, i, gx, shape):
    raise RuntimeError(f"{type(node).__name__}.backward returned an invalid gradient for input {i}: "
                       f"shape {gx.shape}, expected {shape} (the shape of that input)")


def _run_hooks(hooks, grad):
    """Call tensor hooks with the gradient as a Tensor; a hook may return a replacement."""
    for hook in hooks:
        out = hook(Tensor._from_op(grad, None))
        if out is not None:
            grad = out.array if isinstance(out, Tensor) else out
    return grad


def _finish_leaf(leaf, grad, owned):
    """Apply the leaf's hooks, accumulate into ``.grad``, then call post-accumulate hooks."""
    if grad.dtype != leaf.array.dtype:
        # A float64 operand promotes the graph; the gradient keeps the parameter's dtype, as
        # in PyTorch, so optimisers and buckets never see a mixed dtype.
        grad, owned = grad.astype(leaf.array.dtype), True
    if leaf._hooks:
        hooked = _run_hooks(leaf._hooks, grad)
        grad, owned = hooked, owned and hooked is grad
    if leaf._grad is None:
        # A gradient may be shared (an Add hands the same array to both inputs) or a view
        # (of a broadcast, of another gradient); later steps mutate .grad in place, so the leaf
        # must own its array.
        leaf._grad = Tensor._from_op(grad if owned else grad.copy(), None)
    else:
        leaf._grad.array += grad
    if leaf._post_hooks:
        for hook in leaf._post_hooks:
            hook(leaf)


def run_backward(tensor, grad=None, retain_graph=False, finish_leaf=_finish_leaf):
    """Backpropagate from ``tensor`` (what ``Tensor.backward`` calls).

    ``finish_leaf(leaf, grad, owned)`` receives each leaf's complete gradient; the default
    accumulates it into ``.grad``, ``autograd.grad`` collects it instead."""
    global _callbacks
    if not tensor.requires_grad:
        raise RuntimeError("backward() on a tensor that does not require grad: no input of the "
                           "computation had requires_grad=True (or it ran under no_grad)")
    xp = backend.get_array_module(tensor.array)
    if grad is None:
        if tensor.array.size != 1:
            raise RuntimeError(f"grad can be implicitly created only for scalar outputs: backward() "
                               f"got an output of shape {tuple(tensor.shape)}; pass "
                               "gradient= of that shape")
        grad = xp.ones_like(tensor.array)
    else:
        grad = grad.array if isinstance(grad, Tensor) else xp.asarray(grad, dtype=tensor.dtype)
        if grad.shape != tensor.shape:
            raise ValueError(f"backward(grad) got grad of shape {grad.shape} for a tensor of "
                             f"shape {tensor.shape}")
    root = tensor.grad_fn
    if root is None:  # backward on a leaf: its gradient is the seed itself
        finish_leaf(tensor, grad, False)
        return

    outer, _callbacks = _callbacks, []
    try:
        pending_leaf = _count_leaf_edges(root)
        leaf_grads = {}
        grads = {root: grad}
        heap = [(-root._seq, root)]
        pop, push = heapq.heappop, heapq.heappush
        while heap:
            node = pop(heap)[1]
            gy = grads.pop(node)
            state = node.__dict__
            hooks = state.get("_out_hooks")
            if hooks:
                gy = _run_hooks(hooks, gy)
            gxs = type(node).backward(node, gy)  # works for methods and PyTorch-style staticmethods
            if type(gxs) is not tuple:
                gxs = tuple(gxs) if isinstance(gxs, list) else (gxs,)
            edges = state["_edges"]
            if len(gxs) != len(edges):
                raise RuntimeError(f"{type(node).__name__}.backward returned {len(gxs)} gradients "
                                   f"for {len(edges)} inputs")
            if not retain_graph:
                state.clear()  # frees saved arrays now, not when the graph dies
            for i, (edge, gx) in enumerate(zip(edges, gxs)):
                if edge is None or gx is None:
                    continue
                if type(gx) is not ndarray:
                    gx = _as_gradient(node, i, gx)
                if isinstance(edge, Tensor):
                    if gx.shape != edge.array.shape:
                        _bad_gradient(node, i, gx, edge.array.shape)
                    # Only a fresh array handed to one input may be stored without a copy.
                    owned = (gx is not gy and gx.flags.owndata
                             and sum(g is gx for g in gxs) == 1)
                    prev = leaf_grads.get(edge)
                    if prev is not None:
                        gx, owned = prev[0] + gx, True
                    left = pending_leaf[edge] - 1
                    pending_leaf[edge] = left
                    if left:
                        leaf_grads[edge] = (gx, owned)
                    else:
                        leaf_grads.pop(edge, None)
                        finish_leaf(edge, gx, owned)
                else:
                    if gx.shape != edge._shape:
                        _bad_gradient(node, i, gx, edge._shape)
                    prev = grads.get(edge)
                    if prev is None:
                        grads[edge] = gx
                        push(heap, (-edge._seq, edge))
                    else:
                        grads[edge] = prev + gx
        # Contributions that never arrived (a None gradient on some path) still count.
        for leaf, (gx, owned) in leaf_grads.items():
            finish_leaf(leaf, gx, owned)
        callbacks = _callbacks
        _callbacks = []
        for fn in callbacks:
            fn()
    finally:
        _callbacks = outer
