"""A learnable synthetic classification set shaped like MNIST, for runs without any files.

Each class has a blocky random template; a sample is its class's template at a random contrast
plus Gaussian noise, clipped to [0, 1]. Train and test splits share the templates.
"""
import numpy

from distgrad.data.dataset import ArrayDataset


def _templates(shape, num_classes, seed):
    rng = numpy.random.default_rng([seed, 0])
    if len(shape) < 2:
        return rng.random((num_classes, *shape), dtype=numpy.float32)
    # 4x4-pixel blocks give templates spatial structure for convolutions to find.
    *lead, h, w = shape
    coarse = rng.random((num_classes, *lead, -(-h // 4), -(-w // 4)), dtype=numpy.float32)
    blocks = coarse.repeat(4, axis=-2).repeat(4, axis=-1)
    return numpy.ascontiguousarray(blocks[..., :h, :w])


class SyntheticDataset(ArrayDataset):
    """``n`` seeded samples: float32 images of ``shape`` in [0, 1] and int64 labels.

    Args:
        n: number of samples; None gives MNIST's split sizes (60,000 train, 10,000 test).
        shape: the shape of one sample, (1, 28, 28) like MNIST.
        seed: fixes the class templates and the samples; ``train`` picks a split drawn
            independently from the same templates.
        noise: standard deviation of the per-pixel Gaussian noise.
        transform: applied once to the whole image array, as in ``MNIST``.

    >>> train = SyntheticDataset(1000, seed=0)
    >>> train.data.shape, train.data.dtype, train.targets.dtype
    ((1000, 1, 28, 28), dtype('float32'), dtype('int64'))
    """

    def __init__(self, n=None, shape=(1, 28, 28), num_classes=10, seed=0, train=True,
                 noise=0.3, transform=None):
        n = (60000 if train else 10000) if n is None else int(n)
        shape, num_classes = tuple(int(d) for d in shape), int(num_classes)
        if n < 0 or num_classes < 1 or not shape or min(shape) < 1:
            raise ValueError(f"SyntheticDataset(n={n}, shape={shape}, num_classes={num_classes}): "
                             "expected n >= 0, num_classes >= 1 and positive dimensions")
        self.classes = list(range(num_classes))
        self.templates = _templates(shape, num_classes, seed)
        rng = numpy.random.default_rng([seed, 1 if train else 2])
        targets = rng.integers(num_classes, size=n, dtype=numpy.int64)
        contrast = rng.uniform(0.5, 1.0, size=(n,) + (1,) * len(shape)).astype(numpy.float32)
        data = self.templates[targets] * contrast
        data += numpy.float32(noise) * rng.standard_normal(data.shape, dtype=numpy.float32)
        numpy.clip(data, 0, 1, out=data)
        self.data = data if transform is None else transform(data)
        self.targets = targets
        super().__init__(self.data, self.targets)
