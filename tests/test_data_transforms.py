"""Normalize and Compose: PyTorch's values, per channel, on whole image arrays."""
import numpy
import pytest

from distgrad.data import Compose, Normalize


def test_normalize_scalar_matches_the_formula_in_float32():
    x = numpy.random.default_rng(0).random((4, 1, 28, 28), dtype=numpy.float32)
    out = Normalize(0.1307, 0.3081)(x)
    expected = (x - numpy.float32(0.1307)) / numpy.float32(0.3081)
    assert out.dtype == numpy.float32 and numpy.array_equal(out, expected)
    assert out is not x and x.max() <= 1  # the input is left alone


def test_normalize_per_channel():
    x = numpy.ones((2, 3, 2, 2), numpy.float32)
    out = Normalize([0.0, 0.5, 1.0], [1.0, 0.5, 2.0])(x)
    assert out[:, 0].tolist() == numpy.ones((2, 2, 2)).tolist()
    assert numpy.all(out[:, 1] == 1) and numpy.all(out[:, 2] == 0)
    with pytest.raises(ValueError, match=r"3 channel values got an array of shape \(2, 2, 2, 2\)"):
        Normalize([0.0, 0.5, 1.0], [1.0, 1.0, 1.0])(numpy.ones((2, 2, 2, 2), numpy.float32))


def test_normalize_rejects_bad_arguments():
    with pytest.raises(ValueError, match="divide by zero"):
        Normalize(0.5, 0.0)
    with pytest.raises(TypeError, match="uint8"):
        Normalize(0.5, 0.5)(numpy.zeros((1, 1, 2, 2), numpy.uint8))


def test_normalize_matches_torchvision_formula_bit_for_bit():
    torch = pytest.importorskip("torch")
    x = numpy.random.default_rng(1).integers(0, 256, (8, 1, 28, 28)).astype(numpy.float32) / 255
    theirs = torch.from_numpy(x.copy())
    theirs.sub_(torch.tensor([0.2860]).view(-1, 1, 1)).div_(torch.tensor([0.3530]).view(-1, 1, 1))
    assert numpy.array_equal(Normalize(0.2860, 0.3530)(x), theirs.numpy())


def test_compose_applies_in_order():
    x = numpy.full((1, 1, 1, 1), 0.5, numpy.float32)
    out = Compose([Normalize(0.5, 0.25), lambda a: a + 1])(x)
    assert out.item() == 1.0
