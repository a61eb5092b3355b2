"""``default_collate`` and ``default_convert``: from samples to the Tensors a batch is made of,
with PyTorch's rules (Tensors and arrays stacked, numbers to Tensors, containers recursed)."""
import collections.abc
import numbers

import numpy

from distgrad.autograd import Tensor
from distgrad.backend import get_array_module


def _is_namedtuple(obj):
    return isinstance(obj, tuple) and hasattr(obj, "_fields")


def _like(mapping, items):
    """``items`` in a mapping of ``mapping``'s type (an OrderedDict stays one), else a dict."""
    try:
        return type(mapping)(items)
    except TypeError:
        return items


def _stack_arrays(arrays):
    xp = get_array_module(arrays[0])
    return Tensor(xp.stack(arrays))


def _numbers(batch, dtype):
    return Tensor(numpy.asarray(batch, dtype=dtype))


def default_collate(batch):
    """Merge a list of samples into a batch, as PyTorch's ``default_collate``.

    Tensors and NumPy/CuPy arrays are stacked along a new first dimension; Python floats become
    a float64 Tensor, ints an int64 Tensor, bools a bool Tensor, NumPy scalars a Tensor of their
    dtype; strings stay a list; dicts are collated key by key, namedtuples field by field, and
    other sequences (tuples included) position by position into a list.

    >>> default_collate([(numpy.zeros(2), 0), (numpy.ones(2), 1)])[1]
    tensor(array([0, 1]))
    """
    if not batch:
        raise ValueError("default_collate got an empty batch; it needs at least one sample")
    first = batch[0]
    if isinstance(first, Tensor):
        return _stack_arrays([t.array for t in batch])
    if isinstance(first, numpy.ndarray) or get_array_module(first) is not numpy:
        if first.dtype.kind in "OSUV":
            raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, "
                            f"dicts or lists; found arrays of dtype {first.dtype}")
        return _stack_arrays(list(batch))
    if isinstance(first, numpy.generic):
        return Tensor(numpy.asarray(batch))
    if isinstance(first, bool):
        return _numbers(batch, numpy.bool_)
    if isinstance(first, numbers.Integral):
        return _numbers(batch, numpy.int64)
    if isinstance(first, numbers.Real):
        return _numbers(batch, numpy.float64)
    if isinstance(first, (str, bytes)):
        return batch
    if isinstance(first, collections.abc.Mapping):
        return _like(first, {key: default_collate([s[key] for s in batch]) for key in first})
    if _is_namedtuple(first):
        return type(first)(*(default_collate(field) for field in zip(*batch)))
    if isinstance(first, collections.abc.Sequence):
        lengths = {len(sample) for sample in batch}
        if len(lengths) != 1:
            raise RuntimeError(f"each element in list of batch should be of equal size (got "
                               f"sizes {sorted(lengths)})")
        fields = [default_collate(field) for field in zip(*batch)]
        if isinstance(first, (tuple, list)) and type(first) in (tuple, list):
            return fields
        try:
            return type(first)(fields)
        except TypeError:
            return fields
    raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts "
                    f"or lists; found {type(first)}")


def default_convert(data):
    """Turn NumPy arrays and scalars in ``data`` into Tensors, recursing into containers; the
    collate function of ``DataLoader(batch_size=None)``, as PyTorch's."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, numpy.ndarray):
        return data if data.dtype.kind in "OSUV" else Tensor(data)
    if isinstance(data, numpy.generic):
        return Tensor(numpy.asarray(data))
    if get_array_module(data) is not numpy:
        return Tensor(data)
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        return _like(data, {k: default_convert(v) for k, v in data.items()})
    if _is_namedtuple(data):
        return type(data)(*(default_convert(v) for v in data))
    if isinstance(data, tuple):
        return [default_convert(v) for v in data]
    if isinstance(data, collections.abc.Sequence):
        try:
            return type(data)([default_convert(v) for v in data])
        except TypeError:
            return [default_convert(v) for v in data]
    return data


def _batch_tensors(batch):
    """A batch a data set returned for an index array, in the shape ``default_collate`` gives:
    arrays to Tensors, tuples to lists, dicts kept."""
    if isinstance(batch, Tensor):
        return batch
    if isinstance(batch, (tuple, list)) and not _is_namedtuple(batch):
        return [_batch_tensors(b) for b in batch]
    if isinstance(batch, dict):
        return {k: _batch_tensors(v) for k, v in batch.items()}
    return default_convert(batch)
