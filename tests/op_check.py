"""The one check every op test uses: finite differences in float64, and PyTorch when installed.

``check_op(fn, *arrays, torch_fn=...)`` checks ``fn``'s backward against central differences
of the float64 inputs, then — when torch is importable and ``torch_fn`` is given — compares
forward values and input gradients of the float32 op with PyTorch's on the same numbers.
"""
import numpy
import pytest

import distgrad
from distgrad.autograd import gradcheck

try:
    import torch
except ImportError:  # torch is an optional oracle
    torch = None


def _tensors(arrays, dtype, grad):
    out = []
    for i, a in enumerate(arrays):
        a = numpy.asarray(a)
        if a.dtype.kind == "f":
            out.append(distgrad.tensor(a.astype(dtype), requires_grad=grad[i]))
        else:
            out.append(distgrad.tensor(a))
    return out


def check_op(fn, *arrays, torch_fn=None, grad=None, atol=1e-5, rtol=1e-3, eps=1e-6,
             torch_atol=1e-5, torch_rtol=1e-4, seed=0):
    """Check ``fn`` (distgrad Tensors -> Tensor) on ``arrays`` (NumPy; float ones get gradients
    unless ``grad`` says otherwise) against finite differences, and against ``torch_fn`` (torch
    tensors -> tensor) when torch is installed."""
    grad = grad or [numpy.asarray(a).dtype.kind == "f" for a in arrays]
    inputs = _tensors(arrays, numpy.float64, grad)
    gradcheck(fn, inputs, eps=eps, atol=atol, rtol=rtol, seed=seed)
    if torch_fn is not None and torch is not None:
        compare_with_torch(fn, torch_fn, *arrays, grad=grad, atol=torch_atol, rtol=torch_rtol,
                           seed=seed)


def compare_with_torch(fn, torch_fn, *arrays, grad=None, atol=1e-5, rtol=1e-4, seed=0):
    """Forward values and input gradients of ``fn`` in float32 against PyTorch's."""
    if torch is None:
        pytest.skip("torch is not installed")
    grad = grad or [numpy.asarray(a).dtype.kind == "f" for a in arrays]
    ours = _tensors(arrays, numpy.float32, grad)
    theirs = []
    for a, g in zip(arrays, grad):
        a = numpy.asarray(a)
        t = torch.tensor(a.astype(numpy.float32) if a.dtype.kind == "f" else a)
        theirs.append(t.requires_grad_(g) if a.dtype.kind == "f" else t)
    out, ref = fn(*ours), torch_fn(*theirs)
    numpy.testing.assert_allclose(out.numpy(), ref.detach().numpy(), atol=atol, rtol=rtol,
                                  err_msg="forward differs from PyTorch")
    if not any(grad):
        return
    gy = numpy.random.default_rng(seed).standard_normal(out.shape).astype(numpy.float32)
    out.backward(gy)
    ref.backward(torch.tensor(gy))
    for i, (o, t) in enumerate(zip(ours, theirs)):
        if o.requires_grad:
            numpy.testing.assert_allclose(o.grad, t.grad.numpy(), atol=atol, rtol=rtol,
                                          err_msg=f"gradient of input {i} differs from PyTorch")


def distinct(*shape, seed=0):
    """Values spaced 0.01 apart in random order: no near-ties, so max-pooling's argmax does not
    move under a finite-difference step."""
    n = int(numpy.prod(shape))
    return numpy.random.default_rng(seed).permutation(n).reshape(shape) * 0.01 - n * 0.005


def rand(*shape, seed=0, low=-1.0, high=1.0):
    """Reproducible float64 test data."""
    return numpy.random.default_rng(seed).uniform(low, high, size=shape)
