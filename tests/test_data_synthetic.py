"""SyntheticDataset: MNIST's shapes and dtypes, seeded, and easy to learn."""
import numpy
import pytest

from distgrad.data import DataLoader, SyntheticDataset


def test_shapes_dtypes_and_range():
    ds = SyntheticDataset(100)
    assert ds.data.shape == (100, 1, 28, 28) and ds.data.dtype == numpy.float32
    assert ds.targets.shape == (100,) and ds.targets.dtype == numpy.int64
    assert ds.data.min() >= 0 and ds.data.max() <= 1 and set(ds.targets.tolist()) <= set(range(10))
    assert len(SyntheticDataset(train=True, n=None, shape=(4,))) == 60000
    assert len(SyntheticDataset(train=False, shape=(4,))) == 10000
    assert SyntheticDataset(7, shape=(3, 10, 9), num_classes=3).data.shape == (7, 3, 10, 9)
    with pytest.raises(ValueError, match="num_classes=0"):
        SyntheticDataset(5, num_classes=0)


def test_seeded_and_splits_differ_but_share_templates():
    a, b = SyntheticDataset(50, seed=1), SyntheticDataset(50, seed=1)
    assert numpy.array_equal(a.data, b.data) and numpy.array_equal(a.targets, b.targets)
    test = SyntheticDataset(50, seed=1, train=False)
    assert not numpy.array_equal(a.data, test.data)
    assert numpy.array_equal(a.templates, test.templates)
    assert not numpy.array_equal(a.templates, SyntheticDataset(50, seed=2).templates)


def test_learnable_nearest_class_mean():
    train, test = SyntheticDataset(2000, seed=0), SyntheticDataset(1000, seed=0, train=False)
    flat = train.data.reshape(len(train), -1)
    means = numpy.stack([flat[train.targets == c].mean(0) for c in range(10)])
    distances = ((test.data.reshape(len(test), 1, -1) - means) ** 2).sum(-1)
    assert (distances.argmin(1) == test.targets).mean() > 0.95


def test_a_small_mlp_learns_it_in_one_epoch():
    import distgrad
    from distgrad import nn, optim
    distgrad.manual_seed(0)
    train, test = SyntheticDataset(3000, seed=0), SyntheticDataset(1000, seed=0, train=False)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10))
    opt = optim.SGD(model.parameters(), lr=0.1)
    for x, y in DataLoader(train, batch_size=64, shuffle=True, seed=0):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    with distgrad.no_grad():
        accuracy = (model(distgrad.tensor(test.data)).detach().numpy().argmax(1) == test.targets).mean()
    assert accuracy > 0.9
