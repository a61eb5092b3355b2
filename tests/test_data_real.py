"""The real MNIST and Fashion-MNIST files in $DISTGRAD_DATA (skipped when it is unset)."""
import os
import urllib.error

import numpy
import pytest

from distgrad.data import DatasetNotFoundError, download, transforms
from distgrad.data.datasets import MNIST, FashionMNIST

DATA = os.environ.get("DISTGRAD_DATA")
pytestmark = pytest.mark.skipif(not DATA, reason="DISTGRAD_DATA is not set")

MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(autouse=True)
def no_cache(tmp_path, monkeypatch):
    """Only $DISTGRAD_DATA counts: no user cache, no system package, no network."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(FashionMNIST, "system_dirs", ())

    def offline(url, timeout):
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(download, "_urlopen", offline)


def _check(ds, n, counts):
    assert ds.data.shape == (n, 1, 28, 28) and ds.data.dtype == numpy.float32
    assert ds.targets.shape == (n,) and ds.targets.dtype == numpy.int64
    assert ds.data.min() == 0.0 and ds.data.max() == 1.0
    assert numpy.bincount(ds.targets, minlength=10).tolist() == counts
    assert ds.paths[0].startswith(DATA)


def test_fashion_mnist_train_and_test():
    train = FashionMNIST(train=True, download=False, verify=True)
    _check(train, 60000, [6000] * 10)
    # The published normalisation constants are this split's pixel mean and std.
    assert abs(float(train.data.mean(dtype=numpy.float64)) - FashionMNIST.mean) < 5e-5
    assert abs(float(train.data.std(dtype=numpy.float64)) - FashionMNIST.std) < 5e-5
    _check(FashionMNIST(train=False, download=False, verify=True), 10000, [1000] * 10)


def test_mnist_test_split_normalised():
    test = MNIST(train=False, download=False, verify=True)
    _check(test, 10000, MNIST_TEST_COUNTS)
    transform = transforms.Compose([transforms.ToTensor(),
                                    transforms.Normalize((MNIST.mean,), (MNIST.std,))])
    normalised = MNIST(train=False, download=False, transform=transform)
    expected = (test.data - numpy.float32(MNIST.mean)) / numpy.float32(MNIST.std)
    assert numpy.array_equal(normalised.data, expected)


@pytest.mark.parametrize("download_allowed", [False, True])
def test_mnist_train_is_not_kept_offline_and_says_so(download_allowed):
    with pytest.raises(DatasetNotFoundError) as info:
        MNIST(train=True, download=download_allowed)
    message = str(info.value)
    assert os.path.join(DATA, "mnist") + "  ($DISTGRAD_DATA): no train-images-idx3-ubyte" in message
    assert "curl -fLO https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz" \
        in message


def test_the_pytorch_mnist_example_pipeline_gives_torchvisions_numbers():
    """``datasets.MNIST(root, train=False, download=True, transform=Compose([ToTensor(),
    Normalize((0.1307,), (0.3081,))]))`` as PyTorch's MNIST example writes it."""
    torch = pytest.importorskip("torch")
    from distgrad.data import DataLoader
    from distgrad.data.idx import read_idx
    transform = transforms.Compose([transforms.ToTensor(),
                                    transforms.Normalize((0.1307,), (0.3081,))])
    test = MNIST(DATA, train=False, download=True, transform=transform)
    raw = read_idx(os.path.join(DATA, "mnist", "t10k-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(DATA, "mnist", "t10k-labels-idx1-ubyte.gz"))
    # torchvision: PIL image -> ToTensor (float32, / 255) -> Normalize (sub_, div_ in float32).
    theirs = torch.from_numpy(raw[:1000].copy()).unsqueeze(1).to(torch.float32).div(255)
    theirs = theirs.sub_(torch.tensor([0.1307])).div_(torch.tensor([0.3081]))
    image, label = test[3]
    assert image.shape == (1, 28, 28) and label == int(labels[3]) and type(label) is int
    assert numpy.array_equal(image.numpy(), theirs[3].numpy())
    x, y = next(iter(DataLoader(test, batch_size=1000)))
    assert numpy.array_equal(x.numpy(), theirs.numpy()) and y.tolist() == labels[:1000].tolist()
