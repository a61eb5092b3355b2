"""MNIST and Fashion-MNIST: found on disk (several places, ``.gz`` or raw) or downloaded.

Items are what torchvision's give after ``ToTensor()``: a float32 (1, 28, 28) image, an int label.
When the files are nowhere and cannot be downloaded, one ``DatasetNotFoundError`` says where it
looked and how to fix it.
"""
import os

import numpy

from distgrad.autograd import Tensor
from distgrad.data.dataset import Dataset
from distgrad.data.download import (DownloadError, Resource, check_payload,
                                    download, download_lock)
from distgrad.data.idx import IDXError, decompress, parse_idx
from distgrad.data.transforms import (FASHION_MNIST_MEAN, FASHION_MNIST_STD, MNIST_MEAN,
                                      MNIST_STD, ToTensor, _batched)


class DatasetNotFoundError(FileNotFoundError):
    """A data set's files are in none of the places searched and could not be downloaded."""


def _images(n, sha256=None, gz_md5=None, split="train"):
    return Resource(f"{split}-images-idx3-ubyte", 16 + n * 28 * 28, sha256, gz_md5)


def _labels(n, sha256=None, gz_md5=None, split="train"):
    return Resource(f"{split}-labels-idx1-ubyte", 8 + n, sha256, gz_md5)


def _cache_dir():
    return os.path.join(os.path.expanduser("~"), ".cache", "distgrad")


class MNIST(Dataset):
    """The MNIST handwritten digits: 60,000 training and 10,000 test images of 28x28 pixels.

    Looked for, in this order, in ``root`` (and ``root/mnist``), ``$DISTGRAD_DATA/mnist``,
    ``~/.cache/distgrad/mnist``; each file as ``<name>`` or ``<name>.gz``. If absent and
    ``download`` is true, the files are fetched from the first mirror that works into ``root``
    (or ``$DISTGRAD_DATA/mnist``, or the cache), checked against their published digests.
    Processes that build it at once take turns on a file lock: one downloads, the others then
    find its files. No collective is involved, so ranks may build it at different times, under
    their own locks, or not at all.

    ``ds[i]`` is ``(image, label)``: what torchvision gives, with ``transform`` applied to a
    uint8 (28, 28) array where torchvision hands it a PIL image (so
    ``Compose([ToTensor(), Normalize((0.1307,), (0.3081,))])`` gives torchvision's numbers), and
    without a transform the float32 (1, 28, 28) Tensor in [0, 1] that ``ToTensor()`` gives. The
    label is an int (after ``target_transform``).

    Args:
        transform: applied to each image. When it is made of ``ToTensor`` and ``Normalize``
            (alone or in a ``Compose``), it is applied once to all images at load time, and
            ``DataLoader`` gathers whole batches from the result; any other callable is applied
            to each sample when it is read.
        target_transform: applied to each label (an int) when it is read.
        verify: also check the sha256 of files found on disk (their size is always checked).

    Attributes: ``data`` (float32 images (N, 1, 28, 28) in [0, 1], after ``transform`` when it
    applies to whole stacks), ``targets`` (int64 labels), ``classes``.

    >>> train = MNIST(train=True, transform=transforms.ToTensor())      # doctest: +SKIP
    >>> image, label = train[0]; image.shape, label                     # doctest: +SKIP
    ((1, 28, 28), 5)
    """

    name = "mnist"
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
               "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]
    mirrors = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
               "https://storage.googleapis.com/cvdf-datasets/mnist/")
    # The test files are verified by the sha256 of their decompressed bytes (the same whoever
    # compressed them). For the training files only the published MD5s of the original .gz files
    # are known, so those are verified through the .gz bytes as the mirrors serve them.
    resources = {
        "train": (_images(60000, gz_md5="f68b3c2dcbeaaa9fbdd348bbdeb94873"),
                  _labels(60000, gz_md5="d53e105ee54ea40749a09fcbcd1e9432")),
        "t10k": (_images(10000, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                         "9fb629c4189551a2d022fa330f9573f3", split="t10k"),
                 _labels(10000, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
                         "ec29112dd5afa0611ce80d1b7f02629c", split="t10k")),
    }
    system_dirs = ()
    system_package = None
    mean, std = MNIST_MEAN, MNIST_STD  # of the training images, for Normalize(mean, std)

    def __init__(self, root=None, train=True, transform=None, target_transform=None,
                 download=True, *, verify=False):
        self.root, self.train = root, bool(train)
        self.transform, self.target_transform = transform, target_transform
        self.split = "train" if self.train else "t10k"
        resources = self.resources[self.split]
        paths = self._locate(resources, download)
        images, labels = (self._read(path, res, verify) for path, res in zip(paths, resources))
        self._check(images, labels, *paths)
        whole = _batched(transform) if transform is not None else None
        self.data = whole(images) if whole is not None else ToTensor()._batch(images)
        self.targets = labels.astype(numpy.int64)
        # A transform that takes single images only is applied to the raw image when read.
        self._images = images if transform is not None and whole is None else None
        self.paths = paths

    @property
    def arrays(self):
        """(images, labels) for ``DataLoader`` to gather batches from; None when a per-sample
        transform must run on each item."""
        if self._images is not None or self.target_transform is not None:
            return None
        return self.data, self.targets

    @property
    def supports_index_arrays(self):
        """True when ``ds[index_array]`` returns a whole batch of (images, labels)."""
        return self.arrays is not None

    def __getitem__(self, index):
        if isinstance(index, numpy.ndarray) and self.supports_index_arrays:
            return self.data[index], self.targets[index]
        image = (Tensor(self.data[index]) if self._images is None
                 else self.transform(self._images[index]))
        target = int(self.targets[index])
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __len__(self):
        return len(self.targets)

    def __repr__(self):
        return (f"{type(self).__name__}(split={self.split!r}, samples={len(self)}, "
                f"files={os.path.dirname(self.paths[0])!r})")

    # --- finding the files ---------------------------------------------------------------------

    def _search_dirs(self):
        """(directory, why it is searched) in search order."""
        dirs = []
        if self.root is not None:
            root = os.fspath(self.root)
            dirs += [(root, "root"), (os.path.join(root, self.name), "root")]
        env = os.environ.get("DISTGRAD_DATA")
        # None stands for the unset variable, so the not-found message shows it in its place.
        dirs.append((os.path.join(env, self.name) if env else None, "$DISTGRAD_DATA"))
        dirs.append((os.path.join(_cache_dir(), self.name), "cache"))
        dirs += [(d, "system package") for d in self.system_dirs]
        return dirs

    def _download_dir(self):
        if self.root is not None:
            return os.fspath(self.root)
        env = os.environ.get("DISTGRAD_DATA")
        return os.path.join(env, self.name) if env else os.path.join(_cache_dir(), self.name)

    @staticmethod
    def _find_in(directory, resources):
        """The paths of ``resources`` in ``directory`` (raw preferred over .gz), or None each."""
        found = []
        for res in resources:
            path = os.path.join(directory, res.filename)
            found.append(next((p for p in (path, path + ".gz") if os.path.isfile(p)), None))
        return found

    def _search(self, resources, looked):
        for directory, why in self._search_dirs():
            if directory is None:
                looked.append(f"$DISTGRAD_DATA/{self.name}  (DISTGRAD_DATA is not set)")
                continue
            paths = self._find_in(directory, resources)
            if all(paths):
                return paths
            if not os.path.isdir(directory):
                looked.append(f"{directory}  ({why}): no such directory")
            else:
                missing = [r.filename for r, p in zip(resources, paths) if p is None]
                looked.append(f"{directory}  ({why}): no {' or '.join(missing)}[.gz]")
        return None

    def _locate(self, resources, download_allowed):
        looked, failures = [], []
        paths = self._search(resources, looked)
        if paths is None and download_allowed:
            target = self._download_dir()
            try:
                # Whoever holds the lock downloads; the next holder finds the files it wrote.
                with download_lock(target, f"{type(self).__name__}(train={self.train})"):
                    paths = [p or download(res, self.mirrors, target)
                             for res, p in zip(resources, self._find_in(target, resources))]
            except DownloadError as exc:
                failures = [f"{url}: {reason}" for url, reason in exc.failures]
            except OSError as exc:
                failures = [f"cannot write to {target}: {exc}"]
        if paths is None:
            raise DatasetNotFoundError(self._not_found_message(resources, looked, failures,
                                                               download_allowed))
        return paths

    def _not_found_message(self, resources, looked, failures, download_allowed):
        cls, files = type(self).__name__, [r.filename + ".gz" for r in resources]
        lines = [f"{cls}(train={self.train}): cannot find {files[0]} and {files[1]} "
                 "(compressed or not).", "Looked in:"]
        lines += [f"  {entry}" for entry in looked]
        if not download_allowed:
            lines.append("Not downloaded: download=False.")
        else:
            lines.append("Download failed:")
            lines += [f"  {failure}" for failure in failures]
        cache = os.path.join("~", ".cache", "distgrad", self.name)
        lines += ["To fix it, do one of these:",
                  "  * on a machine with internet access, fetch the files and copy them here:",
                  f"      python -c \"from distgrad.data.datasets import {cls}; "
                  f"{cls}(train={self.train})\"",
                  f"      scp -r {cache} THIS_MACHINE:.cache/distgrad/",
                  "  * or download them by hand into the cache:",
                  f"      mkdir -p {cache} && cd {cache}"]
        lines += [f"      curl -fLO {self.mirrors[0]}{f}" for f in files]
        lines += ["  * or point distgrad at a directory that holds them:",
                  "      export DISTGRAD_DATA=/path/to/data    "
                  f"# files in /path/to/data/{self.name}/",
                  f"      or {cls}(root='/path/to/dir'), "
                  "i.e. distgrad train --data-dir /path/to/dir"]
        if self.system_package:
            lines += ["  * or install the system package (Debian/Ubuntu):",
                      f"      sudo apt-get install {self.system_package}"]
        return "\n".join(lines)

    # --- reading and checking ------------------------------------------------------------------

    @staticmethod
    def _read(path, resource, verify):
        with open(path, "rb") as f:
            raw = f.read()
        payload = decompress(raw, path, gzipped=path.endswith(".gz"))
        check_payload(payload, resource, path, raw=raw, digest=verify)
        return parse_idx(payload, path)

    def _check(self, images, labels, images_path, labels_path):
        if images.ndim != 3 or images.dtype != numpy.uint8:
            raise IDXError(f"{images_path} holds {images.dtype} of shape {images.shape}; "
                           "expected uint8 images of shape (N, 28, 28)")
        if labels.ndim != 1 or labels.dtype != numpy.uint8:
            raise IDXError(f"{labels_path} holds {labels.dtype} of shape {labels.shape}; "
                           "expected uint8 labels of shape (N,)")
        if len(images) != len(labels):
            raise IDXError(f"{images_path} holds {len(images)} images but {labels_path} holds "
                           f"{len(labels)} labels; the two files come from different sets")
        if len(labels) and int(labels.max()) >= len(self.classes):
            raise IDXError(f"{labels_path} holds label {int(labels.max())}; "
                           f"{type(self).__name__} has {len(self.classes)} classes")


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: MNIST's format and sizes, 10 kinds of clothing.

    Searched like ``MNIST`` under the name ``fashion-mnist``, then in
    ``/usr/share/datasets/fashion-mnist`` (Debian's ``dataset-fashion-mnist`` package). All four
    files are verified by the sha256 of their decompressed bytes (mirrors compress differently).
    Normalise with ``Compose([ToTensor(), Normalize((0.2860,), (0.3530,))])``
    (``FashionMNIST.mean``, ``FashionMNIST.std``).
    """

    name = "fashion-mnist"
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    mirrors = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
               "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/"
               "data/fashion/")
    resources = {
        "train": (_images(60000,
                          "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
                  _labels(60000,
                          "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9")),
        "t10k": (_images(10000, "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                         split="t10k"),
                 _labels(10000, "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
                         split="t10k")),
    }
    system_dirs = ("/usr/share/datasets/fashion-mnist",)
    system_package = "dataset-fashion-mnist"
    mean, std = FASHION_MNIST_MEAN, FASHION_MNIST_STD
