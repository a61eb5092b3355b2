"""Train the MNIST MLP with distgrad — the same loop you would write in PyTorch.

    python examples/mnist_mlp.py                       # one process
    mpiexec -n 4 python examples/mnist_mlp.py          # four ranks, gradients averaged by DDP
    python examples/mnist_mlp.py --dataset fashion-mnist --epochs 3
"""
import argparse
import time

import numpy

import distgrad
import distgrad.distributed as dist
from distgrad import nn
from distgrad.data import DataLoader, DistributedEvalSampler, DistributedSampler, datasets, transforms

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--dataset", choices=["mnist", "fashion-mnist"], default="mnist")
parser.add_argument("--data-dir", default=None)
parser.add_argument("--epochs", type=int, default=1)
parser.add_argument("--batch-size", type=int, default=64, help="per rank")
parser.add_argument("--lr", type=float, default=1e-3)
args = parser.parse_args()

dist.init_process_group()  # MPI under mpiexec/srun, a single process otherwise
rank, world_size = dist.get_rank(), dist.get_world_size()

Dataset, (mean, std) = {"mnist": (datasets.MNIST, (0.1307, 0.3081)),
                         "fashion-mnist": (datasets.FashionMNIST, (0.2860, 0.3530))}[args.dataset]
transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((mean,), (std,))])
train_set = Dataset(args.data_dir, train=True, transform=transform)
test_set = Dataset(args.data_dir, train=False, transform=transform)

# Each rank sees its own shard of every epoch's permutation; the test set is split so each
# sample is evaluated exactly once.
sampler = DistributedSampler(train_set, shuffle=True, seed=0)
train_loader = DataLoader(train_set, batch_size=args.batch_size, sampler=sampler, drop_last=True)
test_loader = DataLoader(test_set, batch_size=1000, sampler=DistributedEvalSampler(test_set))

distgrad.manual_seed(0)
model = nn.Sequential(
    nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10),
)
model = dist.DistributedDataParallel(model)  # rank 0's weights everywhere; averaged gradients
optimizer = distgrad.optim.Adam(model.parameters(), lr=args.lr)


def evaluate():
    model.eval()
    totals = numpy.zeros(3)  # loss sum, correct, count — summed over ranks once at the end
    with distgrad.no_grad():
        for images, labels in test_loader:
            logits = model(images)
            totals += [nn.functional.cross_entropy(logits, labels, reduction="sum").item(),
                       (logits.argmax(dim=1) == labels).sum().item(), len(labels)]
    dist.all_reduce(totals)
    model.train()
    return totals[0] / totals[2], totals[1] / totals[2]


for epoch in range(1, args.epochs + 1):
    sampler.set_epoch(epoch)
    start = time.perf_counter()
    for step, (images, labels) in enumerate(train_loader, 1):
        loss = nn.functional.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()  # returns once every gradient holds the mean over ranks
        optimizer.step()
        if rank == 0 and step % 100 == 0:
            print(f"epoch {epoch} step {step}/{len(train_loader)} loss {loss.item():.4f}", flush=True)
    seconds = time.perf_counter() - start
    test_loss, accuracy = evaluate()
    if rank == 0:
        samples = len(train_loader) * args.batch_size * world_size
        print(f"epoch {epoch}: test loss {test_loss:.4f}, test accuracy {100 * accuracy:.2f}%, "
              f"{samples / seconds:,.0f} samples/s on {world_size} rank(s)", flush=True)

dist.destroy_process_group()
