"""Test accuracy of the MNIST MLP on Fashion-MNIST with and without PowerSGD, same seed and
data order, so the difference is the compression's; over several seeds, since one run's test
accuracy moves by ~0.3 points with the seed alone.

    mpiexec -n 2 python benchmarks/powersgd_accuracy.py --epochs 3 --seeds 0 1 2

PowerSGD starts after 20% of the run's steps unless ``--start`` says otherwise (PyTorch's
tuning advice for ``start_powerSGD_iter``: begin at 10% of training and raise it until the
accuracy is right). Accuracy does not depend on the link, so this runs on shared memory.
"""
import argparse
import time

import common  # noqa: F401  (one BLAS thread)

import numpy

import distgrad
import distgrad.distributed as dist
from distgrad import models, nn
from distgrad.data import DataLoader, DistributedEvalSampler, DistributedSampler, datasets, transforms
from distgrad.distributed.algorithms.ddp_comm_hooks import powerSGD_hook as powerSGD


def train(variant, seed, start, args, train_set, test_set):
    sampler = DistributedSampler(train_set, shuffle=True, seed=seed)
    loader = DataLoader(train_set, batch_size=args.batch_size, sampler=sampler, drop_last=True)
    test_loader = DataLoader(test_set, batch_size=1000, sampler=DistributedEvalSampler(test_set))
    distgrad.manual_seed(seed)
    model = dist.DDP(models.build("mlp"))
    state = None
    if variant:
        state = powerSGD.PowerSGDState(None, matrix_approximation_rank=variant,
                                       start_powerSGD_iter=start)
        model.register_comm_hook(state, powerSGD.powerSGD_hook)
    opt = distgrad.optim.Adam(model.parameters(), lr=args.lr)
    accuracies = []
    start = time.perf_counter()
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        model.train()
        for images, labels in loader:
            loss = nn.functional.cross_entropy(model(images), labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        correct = numpy.zeros(2)
        with distgrad.no_grad():
            for images, labels in test_loader:
                correct += [(model(images).argmax(dim=1) == labels).sum().item(), len(labels)]
        dist.all_reduce(correct)
        accuracies.append(correct[0] / correct[1])
    rate = state.compression_stats()[0] if state is not None else 1.0
    return accuracies, rate, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64, help="per rank")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--start", type=int, default=None,
                        help="start_powerSGD_iter (default: 20%% of the run's steps)")
    parser.add_argument("--ranks", type=int, nargs="+", default=[0, 1, 2],
                        help="PowerSGD ranks to try (0: no compression)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0],
                        help="initial weights and data order; each seed trains every variant")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    dist.init_process_group()
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.2860,), (0.3530,))])
    train_set = datasets.FashionMNIST(args.data_dir, train=True, transform=transform)
    test_set = datasets.FashionMNIST(args.data_dir, train=False, transform=transform)
    # Each epoch is one rank's share of the samples in whole batches (the loader drops the rest).
    steps = len(DistributedSampler(train_set)) // args.batch_size * args.epochs
    start = args.start if args.start is not None else max(2, steps // 5)
    say = print if dist.get_rank() == 0 else (lambda *a, **k: None)
    say(f"MLP, Fashion-MNIST, {dist.get_world_size()} ranks x batch {args.batch_size}, Adam "
        f"lr {args.lr}, {args.epochs} epochs ({steps} steps); PowerSGD from step {start}")
    deltas = {}
    for seed in args.seeds:
        baseline = None
        for variant in args.ranks:
            accuracies, rate, seconds = train(variant, seed, start, args, train_set, test_set)
            baseline = accuracies[-1] if variant == 0 else baseline
            delta = ""
            if baseline is not None and variant != 0:
                deltas.setdefault(variant, []).append(100 * (accuracies[-1] - baseline))
                delta = f"  ({deltas[variant][-1]:+.2f} points vs uncompressed)"
            label = "uncompressed" if variant == 0 else f"PowerSGD rank {variant}"
            say(f"seed {seed} {label:16} test accuracy per epoch " +
                " ".join(f"{100 * a:.2f}%" for a in accuracies) +
                f"; compression {rate:.0f}x; {seconds:.1f} s{delta}", flush=True)
    for variant, d in deltas.items():
        say(f"PowerSGD rank {variant}: {numpy.mean(d):+.2f} points on average over "
            f"{len(d)} seed(s), worst {min(d):+.2f}")


if __name__ == "__main__":
    main()
