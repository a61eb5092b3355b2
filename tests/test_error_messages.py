"""Errors in the user's words: what a PyTorch user is told for a common mistake names their
values and PyTorch's concepts, never NumPy's internals, and has PyTorch's exception class."""
import re

import pytest

import distgrad

try:
    import torch
except ImportError:  # torch is an optional oracle
    torch = None

NUMPY_WORDS = re.compile(r"ufunc|casting|axis|ndarray|astype|numpy|broadcast together", re.I)


def raised(fn, lib):
    with pytest.raises(Exception) as info:
        fn(lib)
    return info.value


MISTAKES = [
    # (what, the mistake, PyTorch's message as distgrad gives it)
    ("broadcast", lambda lib: lib.zeros(3, 4) + lib.zeros(5),
     "The size of tensor a (4) must match the size of tensor b (5) at non-singleton dimension 1"),
    ("broadcast, leading dims", lambda lib: lib.zeros(2, 1, 3) - lib.zeros(4, 2),
     "The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 2"),
    ("broadcast, multiply", lambda lib: lib.zeros(2, 3) * lib.zeros(3, 2),
     "The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 1"),
    ("broadcast, divide", lambda lib: lib.ones(2) / lib.ones(3),
     "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 0"),
    ("string operand", lambda lib: lib.zeros(2) * "a",
     "unsupported operand type(s) for *: 'Tensor' and 'str'"),
    ("None operand", lambda lib: lib.zeros(2) + None,
     "unsupported operand type(s) for +: 'Tensor' and 'NoneType'"),
    ("string exponent", lambda lib: lib.zeros(2) ** "a",
     "unsupported operand type(s) for ** or pow(): 'Tensor' and 'str'"),
]


@pytest.mark.parametrize("what, mistake, message", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_arithmetic_mistakes_in_pytorchs_words(what, mistake, message):
    error = raised(mistake, distgrad)
    assert str(error).startswith(message), str(error)
    assert not NUMPY_WORDS.search(str(error).split(":")[0]), str(error)
    if torch is not None:
        ref = raised(mistake, torch)
        assert isinstance(error, type(ref)), (type(error), type(ref))
        if what.startswith("broadcast") or what == "None operand":
            assert str(ref) == message


def test_broadcasting_that_works_is_unchanged():
    assert (distgrad.zeros(3, 1) + distgrad.zeros(4)).shape == (3, 4)
    assert (2 ** distgrad.tensor([1.0, 2.0])).tolist() == [2.0, 4.0]
    assert (1 - distgrad.tensor([1.0])).tolist() == [0.0]


def test_backends_is_a_module_not_a_suggestion_of_backend():
    import distgrad.backends  # noqa: F401  (importable as a module, as torch.backends)
    assert distgrad.backends.mps.is_available() is False
    assert distgrad.backends is not distgrad.backend


def test_a_pytorch_name_distgrad_keeps_elsewhere_says_where():
    with pytest.raises(AttributeError) as info:
        distgrad.utils  # noqa: B018
    message = str(info.value)
    assert "distgrad.data" in message and "Did you mean" not in message


SHAPE_MISTAKES = [
    ("matmul", lambda lib, nn: lib.zeros(4, 5) @ lib.zeros(4, 5), "matmul got shapes (4, 5) and (4, 5)"),
    ("Linear", lambda lib, nn: nn.Linear(4, 2)(lib.zeros(4, 5)),
     "Linear(in_features=4) got input of shape (4, 5)"),
    ("Conv2d", lambda lib, nn: nn.Conv2d(1, 2, 3)(lib.zeros(2, 3, 6, 6)),
     "Conv2d(in_channels=1) got input of shape (2, 3, 6, 6)"),
    ("view", lambda lib, nn: lib.zeros(4, 5).view(-1, 7),
     "cannot reshape a tensor of shape (4, 5) (20 elements) into shape (-1, 7)"),
    ("cat", lambda lib, nn: lib.cat([lib.zeros(2, 3), lib.zeros(2, 4)]), "cat along dim 0 got shapes"),
    ("stack", lambda lib, nn: lib.stack([lib.zeros(2), lib.zeros(3)]), "stack needs tensors of one shape"),
    ("empty stack", lambda lib, nn: lib.stack([]), "stack needs at least one tensor"),
]


@pytest.mark.parametrize("what, mistake, message", SHAPE_MISTAKES, ids=[m[0] for m in SHAPE_MISTAKES])
def test_shape_mistakes_raise_runtime_error_as_pytorch(what, mistake, message):
    with pytest.raises(RuntimeError) as info:
        mistake(distgrad, distgrad.nn)
    assert str(info.value).startswith(message), str(info.value)
    if torch is not None:
        with pytest.raises(RuntimeError):
            mistake(torch, torch.nn)
