"""Fused elementwise kernels for the training step's hot spots: on a GPU one pass over memory
(a CuPy ``ElementwiseKernel``, compiled on first use), on the CPU the same formula in NumPy.

Callers pass backend arrays and never learn which ran. The GPU kernels are compiled with
``--fmad=false`` and do their float operations in the NumPy order, so both give the same bits.
"""
import numpy

from . import backend

_NO_FMA = ("--fmad=false",)   # a fused multiply-add rounds once where NumPy rounds twice
_kernels = {}


def _kernel(name, in_params, out_params, body):
    kernel = _kernels.get(name)
    if kernel is None:
        kernel = _kernels[name] = backend.cupy.ElementwiseKernel(
            in_params, out_params, body, f"distgrad_{name}", options=_NO_FMA)
    return kernel


def relu_backward(gy, y):
    """The gradient of ``y = relu(x)``: ``gy`` where ``y > 0``, else 0."""
    if isinstance(gy, numpy.ndarray):
        return gy * (y > 0)
    return _kernel("relu_backward", "T gy, Y y", "T gx", "gx = y > (Y)0 ? gy : (T)0")(gy, y)


def dropout_mask(uniform, p, dtype):
    """``(uniform >= p) / (1 - p)`` as ``dtype``: the scaled keep-mask of inverted dropout.

    ``uniform`` holds float32 samples of U[0, 1); ``p`` is the drop probability (< 1).
    """
    dtype = numpy.dtype(dtype)
    if isinstance(uniform, numpy.ndarray):
        return numpy.multiply(uniform >= p, 1 / (1 - p), dtype=dtype)
    out = backend.cupy.empty(uniform.shape, dtype=dtype)
    return _kernel("dropout_mask", "float32 u, float32 p, T scale", "T mask",
                   "mask = u >= p ? scale : (T)0")(
        uniform, numpy.float32(p), dtype.type(1 / (1 - p)), out)


_ADAM_MOMENTS = """
    T t = g - m;  t = t * c1;  m = m + t;
    T s = g * c2; s = s * g;   v = v * beta2; v = v + s;
    T d = sqrt(v); d = d / bc2; d = d + eps;
    T u = m * neg_step; u = u / d;
"""


def adam_update(grad, exp_avg, exp_avg_sq, beta1, beta2, step_size, bias_correction2_sqrt, eps,
                param=None, out=None):
    """One Adam step over flat arrays in PyTorch's arithmetic, in place.

    ``exp_avg`` and ``exp_avg_sq`` are updated; the parameter update
    ``-step_size * exp_avg / (sqrt(exp_avg_sq) / bias_correction2_sqrt + eps)`` is added to
    ``param`` when given, else written to ``out``. GPU arrays only (the optimiser's NumPy
    passes reuse scratch arrays and are as fast on the CPU).
    """
    t = grad.dtype.type
    scalars = (t(1 - beta1), t(beta2), t(1 - beta2), t(bias_correction2_sqrt), t(eps),
               t(-step_size))
    params = "T g, T c1, T beta2, T c2, T bc2, T eps, T neg_step"
    if param is not None:
        _kernel("adam_param", params, "T m, T v, T p", _ADAM_MOMENTS + "p = p + u;")(
            grad, *scalars, exp_avg, exp_avg_sq, param)
    else:
        _kernel("adam_out", params, "T m, T v, T upd", _ADAM_MOMENTS + "upd = u;")(
            grad, *scalars, exp_avg, exp_avg_sq, out)
