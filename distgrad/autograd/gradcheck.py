"""Finite-difference gradient checking in float64 (the oracle every op's backward is tested by)."""
import warnings

import numpy

from .. import backend
from .grad_mode import no_grad
from .tensor import Tensor


def numerical_grads(fn, inputs, grad_output, eps=1e-6):
    """Central differences of ``sum(fn(*inputs) * grad_output)`` for each input that requires
    grad (float64 arrays, one per such input; None elsewhere)."""
    grads = []
    with no_grad():
        for t in inputs:
            if not (isinstance(t, Tensor) and t.requires_grad):
                grads.append(None)
                continue
            # Index the array itself: a reshaped view of non-contiguous data would be a copy,
            # and perturbing a copy would give zero differences.
            data = t.array
            g = numpy.zeros(t.shape)
            for i in numpy.ndindex(*t.shape):
                orig = data[i].item()
                data[i] = orig + eps
                plus = float((backend.to_numpy(fn(*inputs).array) * grad_output).sum())
                data[i] = orig - eps
                minus = float((backend.to_numpy(fn(*inputs).array) * grad_output).sum())
                data[i] = orig
                g[i] = (plus - minus) / (2 * eps)
            grads.append(g)
    return grads


def analytical_grads(fn, inputs, grad_output):
    """Gradients of ``sum(fn(*inputs) * grad_output)`` from backward (host arrays)."""
    for t in inputs:
        if isinstance(t, Tensor):
            t.grad = None
    out = fn(*inputs)
    xp = backend.get_array_module(out.array)
    out.backward(xp.asarray(grad_output, dtype=out.dtype))
    return [backend.to_numpy(t.grad.array) if isinstance(t, Tensor) and t.requires_grad and t.grad is not None
            else (numpy.zeros(t.shape) if isinstance(t, Tensor) and t.requires_grad else None)
            for t in inputs]


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, seed=0):
    """Compare ``fn``'s backward with float64 finite differences.

    ``inputs`` is a tuple of Tensors (those with ``requires_grad`` are checked; they should be
    float64 for the differences to be accurate). The output is contracted with a random
    gradient so every element of the Jacobian matters. Returns True, or raises (or returns
    False with ``raise_exception=False``) naming the input and the worst element.

    >>> x = distgrad.tensor(numpy.random.rand(3, 4), dtype=numpy.float64, requires_grad=True)
    >>> gradcheck(lambda a: (a * a).sum(axis=1), (x,))
    True
    """
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.requires_grad and t.dtype != numpy.float64:
            warnings.warn(f"gradcheck input {i} is {t.dtype}: finite differences need float64 "
                          "inputs to be accurate (create them with dtype=distgrad.float64)",
                          stacklevel=2)
    with no_grad():
        shape = fn(*inputs).shape
    grad_output = numpy.random.default_rng(seed).standard_normal(shape)
    analytical = analytical_grads(fn, inputs, grad_output)
    numerical = numerical_grads(fn, inputs, grad_output, eps)
    for i, (a, n) in enumerate(zip(analytical, numerical)):
        if n is None:
            continue
        if not numpy.allclose(a, n, atol=atol, rtol=rtol):
            err = numpy.abs(a - n)
            k = numpy.unravel_index(numpy.argmax(err), err.shape)
            msg = (f"gradcheck failed for input {i} (shape {a.shape}): at index {tuple(map(int, k))} "
                   f"backward gives {a[k]:.6g}, finite differences give {n[k]:.6g} "
                   f"(max abs error {err.max():.3g}, atol={atol}, rtol={rtol})")
            if raise_exception:
                raise AssertionError(msg)
            return False
    return True
