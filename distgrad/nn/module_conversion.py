"""How ``Module.to`` reads PyTorch's argument forms: a device, a dtype, both, or a tensor."""
import numpy

from .. import backend
from ..autograd.tensor import Tensor


def to_arguments(args, kwargs):
    """``(device, dtype)`` from ``Module.to``'s PyTorch forms."""
    kwargs = dict(kwargs)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    device, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
    if kwargs:
        raise TypeError(f"Module.to() got unexpected keyword arguments {sorted(kwargs)}")
    args = list(args)
    if args and isinstance(args[-1], bool):  # to(device, dtype, non_blocking)
        args.pop()
    if len(args) > 2:
        raise TypeError(f"Module.to() takes a device, a dtype or a tensor, got {len(args)} "
                        f"positional arguments")
    for a in args:
        if isinstance(a, Tensor):
            device, dtype = a.device, a.dtype
        elif a is not None:
            d, t = backend.device_and_dtype(a, None)
            device, dtype = (d, dtype) if t is None else (device, t)
    if dtype is not None:
        dtype = numpy.dtype(dtype)
        if dtype.kind not in "fc":
            raise TypeError(f"Module.to only accepts floating point dtypes, but got desired "
                            f"dtype={dtype}")
    return device, dtype
