"""default_collate and default_convert: the values, dtypes, shapes and container types of
PyTorch's for the same samples."""
import collections

import numpy
import pytest

import distgrad
from distgrad import Tensor
from distgrad.data import default_collate, default_convert

Point = collections.namedtuple("Point", "x y")


def _samples(lib):
    """The same samples built from distgrad's or torch's tensors."""
    tensor = lib.tensor
    return {
        "tensors": [tensor([1.0, 2.0]), tensor([3.0, 4.0])],
        "arrays": [numpy.zeros((2, 3), numpy.float32), numpy.ones((2, 3), numpy.float32)],
        "ints": [1, 2, 3],
        "floats": [0.5, 1.5],
        "bools": [True, False],
        "numpy scalars": [numpy.float32(1.5), numpy.float32(2.5)],
        "numpy ints": [numpy.int64(4), numpy.int64(5)],
        "strings": ["a", "b"],
        "tuples": [(numpy.arange(2), 0, "x"), (numpy.arange(2) + 2, 1, "y")],
        "lists": [[1, 2.0], [3, 4.0]],
        "dicts": [{"image": tensor([[1.0]]), "label": 3}, {"image": tensor([[2.0]]), "label": 4}],
        "ordered": [collections.OrderedDict(a=1), collections.OrderedDict(a=2)],
        "namedtuples": [Point(1, 2.0), Point(3, 4.0)],
        "nested": [{"pair": (1, [0.5])}, {"pair": (2, [1.5])}],
    }


def _plain(value, torch):
    """A comparable form: (type name, dtype, values) for tensors, recursing into containers."""
    if isinstance(value, (Tensor, torch.Tensor)):
        dtype = numpy.dtype(str(value.dtype).replace("torch.", "")) \
            if isinstance(value, torch.Tensor) else value.dtype
        return ("tensor", dtype, tuple(value.shape), value.tolist())
    if isinstance(value, dict):
        return (type(value).__name__, {k: _plain(v, torch) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_plain(v, torch) for v in value])
    return value


@pytest.mark.parametrize("kind", list(_samples(distgrad)))
def test_default_collate_matches_torch(kind):
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate as torch_collate
    ours = default_collate(_samples(distgrad)[kind])
    theirs = torch_collate(_samples(torch)[kind])
    assert _plain(ours, torch) == _plain(theirs, torch)


@pytest.mark.parametrize("kind", list(_samples(distgrad)))
def test_default_convert_matches_torch(kind):
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_convert as torch_convert
    for ours_sample, their_sample in zip(_samples(distgrad)[kind], _samples(torch)[kind]):
        assert _plain(default_convert(ours_sample), torch) == \
            _plain(torch_convert(their_sample), torch)


def test_default_collate_errors():
    with pytest.raises(RuntimeError, match="should be of equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="found <class 'object'>"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="found arrays of dtype <U1"):
        default_collate([numpy.array(["a"]), numpy.array(["b"])])
