"""MNIST-style data sets: search order, size and checksum checks, downloads from mirrors (served
from local files, never the network) and the one clear error when the files are nowhere."""
import gzip
import hashlib
import os
import socket
import sys
import threading

import numpy
import pytest

from distgrad import Tensor
from distgrad.data import DataLoader, datasets, download, transforms
from distgrad.data.datasets import MNIST, DatasetNotFoundError, FashionMNIST
from distgrad.data.download import ChecksumError, Resource, download_lock
from distgrad.data.idx import IDXError, encode_idx, write_idx

SIZES = {"train": 12, "t10k": 5}
FASHION_SYSTEM_DIRS = FashionMNIST.system_dirs  # before the fixture below replaces it


def _arrays(split, fill=None):
    rng = numpy.random.default_rng(len(split))
    images = rng.integers(0, 256, (SIZES[split], 28, 28), dtype=numpy.uint8)
    if fill is not None:
        images[:] = fill
    return images, rng.integers(0, 10, SIZES[split], dtype=numpy.uint8)


def _resources(split):
    images, labels = _arrays(split)
    return tuple(Resource(f"{split}-{kind}", len(payload), hashlib.sha256(payload).hexdigest())
                 for kind, payload in (("images-idx3-ubyte", encode_idx(images)),
                                       ("labels-idx1-ubyte", encode_idx(labels))))


class Tiny(MNIST):
    """MNIST's code with a dozen samples, so tests can write and serve its files."""

    name = "tiny"
    mirrors = ()
    resources = {split: _resources(split) for split in SIZES}


def _write(directory, split="train", gz=True, fill=None, images=None, labels=None):
    os.makedirs(directory, exist_ok=True)
    default_images, default_labels = _arrays(split, fill)
    suffix = ".gz" if gz else ""
    write_idx(os.path.join(directory, f"{split}-images-idx3-ubyte{suffix}"),
              default_images if images is None else images)
    write_idx(os.path.join(directory, f"{split}-labels-idx1-ubyte{suffix}"),
              default_labels if labels is None else labels)
    return directory


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No real cache, no DISTGRAD_DATA, no system package, no network."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DISTGRAD_DATA", raising=False)
    monkeypatch.setattr(FashionMNIST, "system_dirs", (str(tmp_path / "usr-share"),))

    def no_network(url, timeout):
        raise AssertionError(f"a test tried to reach {url}")

    monkeypatch.setattr(download, "_urlopen", no_network)
    monkeypatch.delitem(sys.modules, "distgrad.distributed", raising=False)


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("split", ["train", "t10k"])
def test_loads_images_and_labels(tmp_path, split, gz):
    _write(tmp_path / "d", split, gz=gz)
    ds = Tiny(root=tmp_path / "d", train=split == "train", download=False, verify=True)
    images, labels = _arrays(split)
    assert ds.data.shape == (SIZES[split], 1, 28, 28) and ds.data.dtype == numpy.float32
    assert ds.targets.dtype == numpy.int64 and ds.targets.tolist() == labels.tolist()
    assert numpy.array_equal(ds.data[:, 0], images.astype(numpy.float32) / numpy.float32(255))
    image, label = ds[3]
    assert image.shape == (1, 28, 28) and int(label) == labels[3] and len(ds) == SIZES[split]


def test_items_are_what_torchvision_gives_after_to_tensor(tmp_path):
    _write(tmp_path / "d")
    ds = Tiny(root=tmp_path / "d", download=False)
    images, labels = _arrays("train")
    image, label = ds[5]
    assert isinstance(image, Tensor) and image.shape == (1, 28, 28) and image.dtype == numpy.float32
    assert type(label) is int and label == labels[5]
    assert numpy.array_equal(image.numpy()[0], images[5].astype(numpy.float32) / numpy.float32(255))


def test_to_tensor_and_normalize_apply_to_the_whole_array_once(tmp_path):
    _write(tmp_path / "d")
    transform = transforms.Compose([transforms.ToTensor(),
                                    transforms.Normalize((0.1307,), (0.3081,))])
    ds = Tiny(root=tmp_path / "d", download=False, transform=transform)
    images = _arrays("train")[0]
    assert ds.arrays is not None and ds.arrays[0] is ds.data  # the loader's one-gather path
    for i in (0, 7):
        assert numpy.array_equal(ds[i][0].numpy(), transform(images[i]).numpy())
    x, y = next(iter(DataLoader(ds, batch_size=12)))
    assert numpy.array_equal(x.numpy(), numpy.stack([transform(im).numpy() for im in images]))
    assert y.dtype == numpy.int64


def test_other_transforms_run_per_sample_on_the_raw_image(tmp_path):
    calls = []

    def halve(image):
        calls.append((image.shape, image.dtype))
        return transforms.ToTensor()(image) / 2

    _write(tmp_path / "d")
    ds = Tiny(root=tmp_path / "d", download=False, transform=halve, target_transform=lambda t: -t)
    assert calls == [] and ds.arrays is None
    image, label = ds[3]
    assert calls == [((28, 28), numpy.uint8)]
    images, labels = _arrays("train")
    assert numpy.array_equal(image.numpy()[0] * 2, images[3] / numpy.float32(255))
    assert label == -int(labels[3])
    x, y = list(DataLoader(ds, batch_size=5))[-1]  # the generic per-sample path, collated
    assert x.shape == (2, 1, 28, 28) and y.tolist() == [-int(v) for v in labels[10:]]


def test_a_bare_normalize_says_to_put_to_tensor_first(tmp_path):
    _write(tmp_path / "d")
    with pytest.raises(TypeError, match=r"put ToTensor\(\) before it"):
        Tiny(root=tmp_path / "d", download=False, transform=transforms.Normalize(0.5, 0.5))


def test_search_order_root_then_env_then_cache_then_system(tmp_path, monkeypatch):
    home_cache = tmp_path / "home" / ".cache" / "distgrad" / "tiny"
    env = tmp_path / "env"
    root = tmp_path / "root"

    def loaded(**kw):
        return int(round(Tiny(download=False, **kw).data.max() * 255))

    monkeypatch.setattr(Tiny, "system_dirs", (str(tmp_path / "system"),))
    _write(tmp_path / "system", fill=4)
    assert loaded() == 4
    _write(home_cache, fill=3)
    assert loaded() == 3
    _write(env / "tiny", fill=2, gz=False)
    monkeypatch.setenv("DISTGRAD_DATA", str(env))
    assert loaded() == 2
    _write(root / "tiny", fill=1)  # root/<name> is searched too
    assert loaded(root=root) == 1
    _write(root, fill=5)
    assert loaded(root=root) == 5


def test_raw_file_preferred_over_gz_and_mixed_is_fine(tmp_path):
    d = tmp_path / "d"
    _write(d, gz=True, fill=1)
    write_idx(d / "train-images-idx3-ubyte", _arrays("train", fill=2)[0])
    assert Tiny(root=d, download=False).data.max() == numpy.float32(2 / 255)


def test_fashion_mnist_searches_the_debian_package_last():
    assert FASHION_SYSTEM_DIRS == ("/usr/share/datasets/fashion-mnist",)
    assert FashionMNIST.system_package == "dataset-fashion-mnist"
    assert MNIST.system_dirs == () and MNIST.system_package is None


def test_wrong_size_is_caught_without_verify(tmp_path):
    _write(tmp_path / "d", images=numpy.zeros((11, 28, 28), numpy.uint8))
    with pytest.raises(ChecksumError, match=r"holds 8640 bytes once decompressed, expected 9424") \
            as info:
        Tiny(root=tmp_path / "d", download=False)
    assert "train-images-idx3-ubyte.gz" in str(info.value)


def test_verify_checks_the_sha256(tmp_path):
    _write(tmp_path / "d", fill=7)  # right size, wrong bytes
    Tiny(root=tmp_path / "d", download=False)  # the size check alone passes
    with pytest.raises(ChecksumError) as info:
        Tiny(root=tmp_path / "d", download=False, verify=True)
    payload = encode_idx(_arrays("train", fill=7)[0])
    message = str(info.value)
    assert Tiny.resources["train"][0].sha256 in message
    assert hashlib.sha256(payload).hexdigest() in message and "train-images" in message


def test_verify_uses_the_gz_md5_when_no_sha256_is_known(tmp_path, monkeypatch):
    _write(tmp_path / "d")
    gz = (tmp_path / "d" / "train-images-idx3-ubyte.gz").read_bytes()
    images = Tiny.resources["train"][0]
    right = Resource(images.filename, images.size, gz_md5=hashlib.md5(gz).hexdigest())
    wrong = Resource(images.filename, images.size, gz_md5="0" * 32)
    monkeypatch.setitem(Tiny.resources, "train", (right, Tiny.resources["train"][1]))
    Tiny(root=tmp_path / "d", download=False, verify=True)
    monkeypatch.setitem(Tiny.resources, "train", (wrong, Tiny.resources["train"][1]))
    with pytest.raises(ChecksumError, match=f"expected md5 of the .gz {'0' * 32}, got "
                                            f"{hashlib.md5(gz).hexdigest()}"):
        Tiny(root=tmp_path / "d", download=False, verify=True)


def test_image_label_count_mismatch(tmp_path, monkeypatch):
    images, labels = Tiny.resources["train"]
    monkeypatch.setitem(Tiny.resources, "train", (images, Resource(labels.filename, 8 + 13)))
    _write(tmp_path / "d", labels=numpy.zeros(13, numpy.uint8))
    with pytest.raises(IDXError, match="holds 12 images but .*labels.* holds 13 labels"):
        Tiny(root=tmp_path / "d", download=False)


def test_label_out_of_range(tmp_path):
    _write(tmp_path / "d", labels=numpy.full(12, 10, numpy.uint8))
    with pytest.raises(IDXError, match="holds label 10; Tiny has 10 classes"):
        Tiny(root=tmp_path / "d", download=False)


def test_html_page_on_disk(tmp_path):
    d = _write(tmp_path / "d")
    (d / "train-labels-idx1-ubyte.gz").write_bytes(b"<!DOCTYPE html><title>Hotel Wi-Fi</title>")
    with pytest.raises(IDXError, match="train-labels-idx1-ubyte.gz is an HTML page"):
        Tiny(root=d, download=False)


def test_offline_error_lists_every_place_and_the_fixes(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "t10k-images-idx3-ubyte.gz").write_bytes(b"")
    with pytest.raises(DatasetNotFoundError) as info:
        FashionMNIST(root=root, train=False, download=False)
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    home = tmp_path / "home"
    for place in (f"{root}  (root): no t10k-labels-idx1-ubyte[.gz]",
                  f"{root}/fashion-mnist  (root): no such directory",
                  "$DISTGRAD_DATA/fashion-mnist  (DISTGRAD_DATA is not set)",
                  f"{home}/.cache/distgrad/fashion-mnist  (cache): no such directory",
                  f"{tmp_path}/usr-share  (system package): no such directory",
                  "download=False",
                  "export DISTGRAD_DATA=/path/to/data",
                  "mkdir -p ~/.cache/distgrad/fashion-mnist",
                  "curl -fLO http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
                  "t10k-labels-idx1-ubyte.gz",
                  "sudo apt-get install dataset-fashion-mnist",
                  "FashionMNIST(root='/path/to/dir')"):
        assert place in message
    assert "apt-get" not in str(pytest.raises(DatasetNotFoundError, MNIST, download=False).value)


def _serve(directory, split="train", **kw):
    """A mirror: a directory of .gz files reached through file:// URLs."""
    _write(directory, split, **kw)
    return directory.as_uri() + "/"


@pytest.fixture
def offline_opener(monkeypatch):
    """urlopen for file:// URLs only, like a machine whose only network is the local disk."""
    import urllib.request

    def opener(url, timeout):
        assert url.startswith("file://") and timeout > 0
        return urllib.request.urlopen(url, timeout=timeout)

    monkeypatch.setattr(download, "_urlopen", opener)


def test_download_falls_back_to_the_next_mirror(tmp_path, monkeypatch, offline_opener, capsys):
    good = _serve(tmp_path / "mirror")
    monkeypatch.setattr(Tiny, "mirrors", ((tmp_path / "empty").as_uri() + "/", good))
    ds = Tiny(root=tmp_path / "root")
    assert ds.targets.tolist() == _arrays("train")[1].tolist()
    assert sorted(os.listdir(tmp_path / "root")) == ["train-images-idx3-ubyte.gz",
                                                     "train-labels-idx1-ubyte.gz"]
    assert "failed" in capsys.readouterr().err


def test_download_goes_to_env_then_cache(tmp_path, monkeypatch, offline_opener):
    monkeypatch.setattr(Tiny, "mirrors", (_serve(tmp_path / "mirror"),))
    Tiny()
    assert os.path.isfile(tmp_path / "home/.cache/distgrad/tiny/train-labels-idx1-ubyte.gz")
    monkeypatch.setenv("DISTGRAD_DATA", str(tmp_path / "env"))
    monkeypatch.setattr(Tiny, "mirrors", (_serve(tmp_path / "mirror", "t10k"),))
    Tiny(train=False)
    assert os.path.isfile(tmp_path / "env/tiny/t10k-images-idx3-ubyte.gz")


def test_download_skips_an_html_mirror(tmp_path, monkeypatch, offline_opener):
    portal = tmp_path / "portal"
    portal.mkdir()
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        (portal / name).write_bytes(b"<html><body>Please log in</body></html>")
    monkeypatch.setattr(Tiny, "mirrors", (portal.as_uri(), _serve(tmp_path / "mirror")))
    assert len(Tiny(root=tmp_path / "root")) == 12


def test_checksum_mismatch_deletes_the_download(tmp_path, monkeypatch, offline_opener):
    monkeypatch.setattr(Tiny, "mirrors", (_serve(tmp_path / "mirror", fill=9),))
    with pytest.raises(ChecksumError) as info:
        Tiny(root=tmp_path / "root")
    payload = encode_idx(_arrays("train", fill=9)[0])
    message = str(info.value)
    assert "train-images-idx3-ubyte" in message and "download deleted" in message
    assert Tiny.resources["train"][0].sha256 in message
    assert hashlib.sha256(payload).hexdigest() in message
    assert os.listdir(tmp_path / "root") == []


def test_every_mirror_unreachable_gives_the_not_found_error(tmp_path, monkeypatch):
    def unreachable(url, timeout):
        if "slow" in url:
            raise socket.timeout("timed out")
        import urllib.error
        raise urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution"))

    monkeypatch.setattr(download, "_urlopen", unreachable)
    monkeypatch.setattr(Tiny, "mirrors", ("https://a.example/tiny/", "https://slow.example/"))
    with pytest.raises(DatasetNotFoundError) as info:
        Tiny(root=tmp_path / "root")
    message = str(info.value)
    assert "https://a.example/tiny/train-images-idx3-ubyte.gz: [Errno -3] Temporary failure" \
        in message
    assert "https://slow.example/train-images-idx3-ubyte.gz: TimeoutError: timed out" in message
    assert info.value.__context__ is None and info.value.__cause__ is None
    assert os.listdir(tmp_path / "root") == []


def test_unwritable_target_is_reported(tmp_path, monkeypatch, offline_opener):
    monkeypatch.setattr(Tiny, "mirrors", (_serve(tmp_path / "mirror"),))
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(DatasetNotFoundError, match="cannot write to .*file"):
        Tiny(root=tmp_path / "file")


def test_downloaded_gz_round_trips(tmp_path, monkeypatch, offline_opener):
    mirror = _serve(tmp_path / "mirror")
    monkeypatch.setattr(Tiny, "mirrors", (mirror,))
    Tiny(root=tmp_path / "root")
    served = (tmp_path / "mirror" / "train-images-idx3-ubyte.gz").read_bytes()
    kept = (tmp_path / "root" / "train-images-idx3-ubyte.gz").read_bytes()
    assert kept == served and gzip.decompress(kept)[:4] == b"\x00\x00\x08\x03"


def test_download_lock_lets_one_process_download_at_a_time(tmp_path):
    order = []

    def other():
        with download_lock(str(tmp_path), "Tiny"):
            order.append("second")

    with download_lock(str(tmp_path), "Tiny"):
        waiter = threading.Thread(target=other)
        waiter.start()
        waiter.join(0.3)
        assert waiter.is_alive()  # blocked while this holder downloads
        order.append("first")
    waiter.join(5)
    assert order == ["first", "second"]


def test_a_dataset_built_inside_a_process_group_uses_no_collective(tmp_path, monkeypatch,
                                                                   offline_opener):
    import distgrad.distributed as dist

    def forbidden(*args, **kwargs):
        raise AssertionError("a data set called a collective")

    monkeypatch.setattr(dist, "is_initialized", lambda: True)
    for name in ("barrier", "all_gather_object", "broadcast_object", "all_reduce", "broadcast"):
        monkeypatch.setattr(dist, name, forbidden)
    for name in ("barrier", "allgather_obj", "bcast_obj", "allreduce", "bcast"):
        monkeypatch.setattr(dist.SingleCommunicator, name, forbidden)
    monkeypatch.setattr(Tiny, "mirrors", (_serve(tmp_path / "mirror"),))
    assert len(Tiny(root=tmp_path / "root")) == SIZES["train"]  # downloads, then
    assert len(Tiny(root=tmp_path / "root")) == SIZES["train"]  # finds the files


def test_normalisation_constants_are_published():
    assert (MNIST.mean, MNIST.std) == (0.1307, 0.3081)
    assert (FashionMNIST.mean, FashionMNIST.std) == (0.2860, 0.3530)
    assert datasets.FashionMNIST.resources["train"][0].size == 47040016
