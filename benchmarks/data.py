"""How long the data layer takes: decoding Fashion-MNIST's training set, and a DataLoader batch.

    python benchmarks/data.py [--data-dir DIR] [--step-ms 45] [--batch-size 64]

The loader's cost per batch is shown next to a CNN train step's time (PERFORMANCE.md's figure by
default), and next to torch.utils.data.DataLoader over a TensorDataset when torch is installed.
"""
import argparse
import os
import statistics

from common import timed, torch  # one BLAS thread, distgrad importable, torch if installed

from distgrad.data import (ArrayDataset, DataLoader, DatasetNotFoundError, Normalize,
                           SyntheticDataset, read_idx)
from distgrad.data.datasets import FashionMNIST


def _median_s(fn, repeats):
    return statistics.median(timed(fn) for _ in range(repeats))


def bench_decode(data_dir, repeats):
    """Seconds to read the 60,000 training images: the raw IDX decode, then the data set."""
    train = FashionMNIST(root=data_dir, train=True, download=False)
    images = train.paths[0]
    raw = _median_s(lambda: read_idx(images), repeats)
    full = _median_s(lambda: FashionMNIST(root=data_dir, train=True, download=False), repeats)
    print(f"decode  read_idx({os.path.basename(images)}): {raw * 1e3:.0f} ms   "
          f"FashionMNIST(train=True) incl. labels and float32: {full * 1e3:.0f} ms   "
          f"(target < 1000 ms)")
    return train


def bench_loader(images, labels, batch_size, step_ms, repeats):
    """Milliseconds per batch over a shuffled epoch, ours and (if installed) torch's."""
    dataset = ArrayDataset(images, labels)
    results = {}
    for prefetch in (False, True):
        loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, seed=0,
                            prefetch=prefetch)
        first = _median_s(lambda: next(iter(loader)), repeats)
        epoch = _median_s(lambda: sum(1 for _ in loader), repeats)
        per_batch = epoch / len(loader) * 1e3
        results[prefetch] = per_batch
        print(f"loader  batch {batch_size}, prefetch={prefetch}: {per_batch * 1e3:.1f} us/batch "
              f"({len(loader)} batches, epoch {epoch * 1e3:.0f} ms, first batch "
              f"{first * 1e6:.0f} us) = {per_batch / step_ms:.2%} of a {step_ms:g} ms step "
              "(target <= 3%)")
    if torch is None:
        print("torch   not installed: no comparison")
        return results
    torch.manual_seed(0)
    tensors = torch.utils.data.TensorDataset(torch.from_numpy(images), torch.from_numpy(labels))
    loader = torch.utils.data.DataLoader(tensors, batch_size=batch_size, shuffle=True)
    epoch = _median_s(lambda: sum(1 for _ in loader), repeats)
    theirs = epoch / len(loader) * 1e3
    print(f"torch   DataLoader(TensorDataset) batch {batch_size}: {theirs * 1e3:.1f} us/batch "
          f"= {theirs / step_ms:.2%} of the step; torch / distgrad = "
          f"{theirs / results[False]:.1f}x")
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("DISTGRAD_DATA"),
                        help="directory holding fashion-mnist/ (default: $DISTGRAD_DATA)")
    parser.add_argument("--step-ms", type=float, default=45.0,
                        help="a CNN train step's time at batch 64, in ms (default 45)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    train = None
    if args.data_dir is None:
        print("decode  skipped: no data directory; pass --data-dir DIR or set DISTGRAD_DATA to a "
              "directory holding fashion-mnist/train-images-idx3-ubyte.gz")
    else:
        try:
            train = bench_decode(args.data_dir, args.repeats)
        except DatasetNotFoundError as exc:
            print(f"decode  skipped: Fashion-MNIST not found under {args.data_dir}:\n{exc}")
    if train is None:
        print("loader  using SyntheticDataset(60000) in place of Fashion-MNIST")
        train = SyntheticDataset(60000)
    images = Normalize(FashionMNIST.mean, FashionMNIST.std)(train.data)
    bench_loader(images, train.targets, args.batch_size, args.step_ms, args.repeats)


if __name__ == "__main__":
    main()
