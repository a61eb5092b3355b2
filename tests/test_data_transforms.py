"""ToTensor, Normalize, Compose, Lambda: torchvision's values per image, and the same values when
a data set transforms a whole stack of images at once."""
import numpy
import pytest

from distgrad import Tensor
from distgrad.data import transforms
from distgrad.data.transforms import Compose, Lambda, Normalize, ToTensor, _batched

MNIST_TRANSFORM = Compose([ToTensor(), Normalize((0.1307,), (0.3081,))])


def _images(shape, seed=0):
    return numpy.random.default_rng(seed).integers(0, 256, shape, dtype=numpy.uint8)


def _torchvision_to_tensor(torch, pic):
    """What torchvision's ToTensor computes for a uint8 ndarray (torchvision may be absent)."""
    pic = pic[:, :, None] if pic.ndim == 2 else pic
    return torch.from_numpy(pic.transpose((2, 0, 1))).contiguous().to(torch.float32).div(255)


def _torchvision_normalize(torch, tensor, mean, std):
    mean = torch.as_tensor(mean, dtype=tensor.dtype).view(-1, 1, 1)
    std = torch.as_tensor(std, dtype=tensor.dtype).view(-1, 1, 1)
    return tensor.clone().sub_(mean).div_(std)


@pytest.mark.parametrize("shape", [(28, 28), (5, 7, 3)])
def test_to_tensor_matches_torchvision(shape):
    torch = pytest.importorskip("torch")
    pic = _images(shape)
    ours = ToTensor()(pic)
    theirs = _torchvision_to_tensor(torch, pic)
    assert isinstance(ours, Tensor) and ours.dtype == numpy.float32
    assert ours.shape == tuple(theirs.shape)
    assert numpy.array_equal(ours.numpy(), theirs.numpy())


def test_to_tensor_keeps_other_dtypes_and_rejects_other_inputs():
    out = ToTensor()(numpy.full((2, 3), 7.5))
    assert out.dtype == numpy.float64 and out.shape == (1, 2, 3) and out.numpy().max() == 7.5
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray"):
        ToTensor()(Tensor(numpy.zeros((2, 2), numpy.float32)))
    with pytest.raises(ValueError, match="pic should be 2/3 dimensional. Got 4 dimensions"):
        ToTensor()(numpy.zeros((1, 2, 2, 1), numpy.uint8))


def test_mnist_pipeline_matches_torchvision_bit_for_bit():
    torch = pytest.importorskip("torch")
    pic = _images((28, 28), seed=1)
    ours = MNIST_TRANSFORM(pic)
    theirs = _torchvision_normalize(torch, _torchvision_to_tensor(torch, pic), (0.1307,), (0.3081,))
    assert isinstance(ours, Tensor) and ours.shape == (1, 28, 28) and ours.dtype == numpy.float32
    assert numpy.array_equal(ours.numpy(), theirs.numpy())


def test_whole_stack_equals_image_by_image():
    stack = _images((6, 28, 28), seed=2)
    whole = _batched(MNIST_TRANSFORM)(stack)
    assert whole.shape == (6, 1, 28, 28) and whole.dtype == numpy.float32
    for image, expected in zip(stack, whole):
        assert numpy.array_equal(MNIST_TRANSFORM(image).numpy(), expected)
    colour = _images((3, 4, 5, 3), seed=3)
    assert numpy.array_equal(_batched(ToTensor())(colour)[1], ToTensor()(colour[1]).numpy())
    # A transform of the caller's own takes single images only.
    assert _batched(Compose([ToTensor(), Lambda(lambda t: t * 2)])) is None
    assert _batched(lambda image: image) is None


def test_normalize_per_channel_and_broadcast():
    torch = pytest.importorskip("torch")
    x = numpy.random.default_rng(4).random((3, 4, 4), dtype=numpy.float32)
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    ours = Normalize(mean, std)(Tensor(x))
    theirs = _torchvision_normalize(torch, torch.from_numpy(x), mean, std)
    assert numpy.array_equal(ours.numpy(), theirs.numpy())
    # One value serves every channel, as in torchvision.
    one = Normalize((0.5,), (0.25,))(Tensor(x)).numpy()
    assert numpy.array_equal(one, (x - numpy.float32(0.5)) / numpy.float32(0.25))
    with pytest.raises(ValueError, match=r"3 channel values got an image of shape \(2, 2, 2, 2\)"):
        Normalize([0.0, 0.5, 1.0], [1.0, 1.0, 1.0])(numpy.ones((2, 2, 2, 2), numpy.float32))


def test_normalize_on_arrays_and_inplace():
    x = numpy.random.default_rng(0).random((4, 1, 28, 28), dtype=numpy.float32)
    out = Normalize(0.1307, 0.3081)(x)
    expected = (x - numpy.float32(0.1307)) / numpy.float32(0.3081)
    assert isinstance(out, numpy.ndarray) and numpy.array_equal(out, expected)
    assert out is not x and x.max() <= 1  # the input is left alone
    t = Tensor(x.copy())
    assert Normalize(0.1307, 0.3081, inplace=True)(t) is t
    assert numpy.array_equal(t.numpy(), expected)


def test_normalize_rejects_bad_arguments():
    with pytest.raises(ValueError, match="divide by zero"):
        Normalize(0.5, 0.0)
    with pytest.raises(TypeError, match=r"got uint8; put ToTensor\(\) before it"):
        Normalize(0.5, 0.5)(numpy.zeros((1, 1, 2, 2), numpy.uint8))
    with pytest.raises(ValueError, match=r"\(\.\.\., C, H, W\), got shape \(2, 2\)"):
        Normalize(0.5, 0.5)(Tensor(numpy.zeros((2, 2), numpy.float32)))


def test_compose_and_lambda():
    x = numpy.full((1, 1, 1), 0.5, numpy.float32)
    out = Compose([Normalize(0.5, 0.25), Lambda(lambda a: a + 1)])(x)
    assert out.item() == 1.0
    with pytest.raises(TypeError, match="Argument lambd should be callable, got 'int'"):
        Lambda(3)
    assert repr(MNIST_TRANSFORM) == ("Compose(\n    ToTensor()\n"
                                     "    Normalize(mean=(0.1307,), std=(0.3081,))\n)")
    assert transforms.ToTensor is ToTensor
