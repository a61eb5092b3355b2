"""``torch.utils.data`` and torchvision's transforms: datasets, loaders, batches, samplers."""
import numpy

from .inputs import FEATURES, TARGETS
from . import category

idiom = category("data")


def _dataset(torch, data):
    return data.TensorDataset(torch.tensor(FEATURES), torch.tensor(TARGETS))


@idiom
def tensor_dataset_items(torch, data):
    ds = _dataset(torch, data)
    return len(ds), ds[3], type(ds[3]).__name__


@idiom
def tensor_dataset_tensors_attribute(torch, data):
    features, targets = _dataset(torch, data).tensors
    return features.shape, targets


@idiom
def subset(torch, data):
    sub = data.Subset(_dataset(torch, data), [1, 4, 7])
    return len(sub), sub[2], sub.indices


@idiom
def random_split_lengths(torch, data):
    parts = data.random_split(_dataset(torch, data), [7, 3])
    indices = sorted(parts[0].indices + parts[1].indices)
    return [len(p) for p in parts], indices == list(range(10)), type(parts[0]).__name__


@idiom
def random_split_fractions_with_generator(torch, data):
    parts = data.random_split(_dataset(torch, data), [0.8, 0.2],
                              generator=torch.Generator().manual_seed(42))
    return [len(p) for p in parts]


@idiom
def concat_dataset(torch, data):
    ds = data.ConcatDataset([_dataset(torch, data), data.Subset(_dataset(torch, data), [0, 1])])
    return len(ds), ds[10], ds[11][1]


@idiom
def custom_dataset_class(torch, data):
    class Squares(data.Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            return torch.tensor([float(i)]), i * i

    loader = data.DataLoader(Squares(), batch_size=4)
    return [(x, y) for x, y in loader]


@idiom
def loader_batch_shapes_and_dtypes(torch, data):
    loader = data.DataLoader(_dataset(torch, data), batch_size=4)
    x, y = next(iter(loader))
    return len(loader), x.shape, x.dtype, y, len(loader.dataset)


@idiom
def loader_drop_last(torch, data):
    loader = data.DataLoader(_dataset(torch, data), batch_size=4, drop_last=True)
    return len(loader), [y for _, y in loader]


@idiom
def loader_shuffle_covers_dataset(torch, data):
    loader = data.DataLoader(_dataset(torch, data), batch_size=3, shuffle=True)
    seen = sorted(v for _, y in loader for v in y.tolist())
    return seen, len(loader)


@idiom
def loader_pytorch_arguments(torch, data):
    loader = data.DataLoader(_dataset(torch, data), batch_size=5, shuffle=False, num_workers=0,
                             pin_memory=False, drop_last=False, persistent_workers=False,
                             worker_init_fn=None, generator=torch.Generator().manual_seed(0))
    return [y for _, y in loader]


@idiom
def loader_collate_fn(torch, data):
    def collate(batch):
        xs, ys = zip(*batch)
        return torch.stack(xs).sum(dim=1), list(ys)

    loader = data.DataLoader(_dataset(torch, data), batch_size=4, collate_fn=collate)
    return list(loader)


@idiom
def default_collate_of_numpy_and_numbers(torch, data):
    samples = [(numpy.ones(3, numpy.float32) * i, i, float(i) / 2) for i in range(4)]
    batch = next(iter(data.DataLoader(samples, batch_size=4)))
    return batch


@idiom
def default_collate_of_dicts(torch, data):
    samples = [{"x": torch.tensor([float(i)]), "label": i} for i in range(3)]
    return next(iter(data.DataLoader(samples, batch_size=3)))


@idiom
def sequential_and_random_sampler(torch, data):
    ds = _dataset(torch, data)
    random_order = list(data.RandomSampler(ds))
    return list(data.SequentialSampler(ds)), sorted(random_order) == list(range(10))


@idiom
def batch_sampler(torch, data):
    return list(data.BatchSampler(data.SequentialSampler(range(7)), batch_size=3, drop_last=False))


@idiom
def distributed_sampler_shards_without_shuffle(torch, data):
    ds = _dataset(torch, data)
    shards = [list(data.DistributedSampler(ds, num_replicas=3, rank=r, shuffle=False))
              for r in range(3)]
    return shards, len(data.DistributedSampler(ds, num_replicas=3, rank=0))


@idiom
def distributed_sampler_drop_last(torch, data):
    ds = _dataset(torch, data)
    return [list(data.DistributedSampler(ds, num_replicas=4, rank=r, shuffle=False, drop_last=True))
            for r in range(4)]


@idiom
def distributed_sampler_set_epoch_changes_order(torch, data):
    sampler = data.DistributedSampler(range(50), num_replicas=1, rank=0, shuffle=True, seed=0)
    sampler.set_epoch(0)
    first = list(sampler)
    sampler.set_epoch(1)
    second = list(sampler)
    sampler.set_epoch(0)
    return first == list(sampler), first != second, sorted(first) == list(range(50))


@idiom
def set_epoch_after_peeking_a_batch(torch, data):
    sampler = data.DistributedSampler(range(50), num_replicas=1, rank=0, shuffle=True)
    loader = data.DataLoader(range(50), batch_size=50, sampler=sampler)
    next(iter(loader))  # a peek at one batch, as scripts do to print its shape
    orders = []
    for epoch in range(2):
        sampler.set_epoch(epoch)
        orders.append([batch.tolist() for batch in loader][0])
    return orders[0] != orders[1], sorted(orders[1]) == list(range(50))


@idiom
def distributed_sampler_import_path(data):
    return data.distributed.DistributedSampler is data.DistributedSampler


@idiom
def loader_over_plain_list(torch, data):
    return list(data.DataLoader([1.0, 2.0, 3.0, 4.0, 5.0], batch_size=2))


@idiom
def to_tensor_and_normalize(torch, transforms):
    image = (numpy.arange(2 * 3 * 3) % 256).astype(numpy.uint8).reshape(2, 3, 3).transpose(1, 2, 0)
    pipeline = transforms.Compose([transforms.ToTensor(),
                                   transforms.Normalize((0.5, 0.1), (0.2, 0.3))])
    return transforms.ToTensor()(image), pipeline(image)


@idiom
def transforms_lambda(torch, transforms):
    flip = transforms.Lambda(lambda x: x.flip(-1))
    return flip(torch.tensor(FEATURES))


@idiom
def normalize_mnist_constants(torch, transforms):
    t = transforms.Normalize((0.1307,), (0.3081,))
    return t(torch.tensor(FEATURES[:3].reshape(1, 3, 3)))
